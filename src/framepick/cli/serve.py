"""``framepick serve``: an OpenAI-compatible proxy that picks a video's frames for each question."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from framepick.cli.checks import seed_arg
from framepick.cli.common import add_device_args, add_grid_args, apply_device_args, finish_grid_args, grid_from_args
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Serve the OpenAI chat-completions API in front of an MLLM server (vLLM, SGLang, transformers
serve, ...). A request whose user message holds a video_url part (a path under --videos-root) and a
question gets K frames chosen for that question, sent upstream as images labelled with their
times; the reply carries the chosen frames in a "framepick" field. Other requests pass through.
Per request: "framepick": {"method": "topk", "k": 16}. See docs/serve.md."""

EPILOG = """\
example:
  vllm serve Qwen/Qwen2.5-VL-7B-Instruct --port 8000 --limit-mm-per-prompt '{"image": 32}' &
  framepick serve --upstream http://localhost:8000/v1 --method aks -k 32 --videos-root /data/videos
  # then, with any OpenAI client, base_url=http://127.0.0.1:8001/v1 and a message such as
  # [{"type": "video_url", "video_url": {"url": "talks/a.mp4"}}, {"type": "text", "text": "What is held up?"}]"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve", help="an OpenAI-compatible proxy that selects a video's frames per question",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--upstream", required=True, metavar="URL", help="the MLLM server's API base, e.g. http://HOST:8000/v1")
    parser.add_argument("--upstream-key-env", metavar="NAME", help="environment variable holding the upstream's API key (none by default)")
    parser.add_argument("--upstream-timeout", type=float, default=600.0, metavar="S", help="seconds to wait for the upstream (default 600)")
    parser.add_argument("--method", help="selection method (default topk+dedup); NAME=CKPT_DIR for a learned one")
    parser.add_argument("-k", type=int, default=32, help="frames per request unless the request says (default 32)")
    parser.add_argument("--max-k", type=int, default=128, help="the most frames a request may ask for (default 128)")
    parser.add_argument("--encoder", default="auto", help="feature encoder for the selection (default auto)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed for any randomness (default 0)")
    parser.add_argument("--prompt", metavar="NAME|FILE", help="frame label wording: a template name or JSON file (default: default)")
    parser.add_argument("--max-side", type=int, default=768, metavar="PX", help="frames are sent fitted to this side (default 768)")
    parser.add_argument("--frame-cache-mb", type=float, default=512, metavar="MB",
                        help="memory for the chosen frames' JPEGs, kept across questions (default 512; 0: none)")
    videos = parser.add_argument_group("videos")
    videos.add_argument("--videos-root", metavar="DIR", help="the folder requests' video paths are read under (none: local paths are refused)")
    videos.add_argument("--allow-remote", action="store_true", help="also fetch http(s) video URLs (off by default: the server would open any URL a client names)")
    videos.add_argument("--remote-max-mb", type=float, default=1024, metavar="MB", help="largest remote video fetched (default 1024)")
    videos.add_argument("--remote-timeout", type=float, default=120, metavar="S", help="seconds a remote video may take to download (default 120)")
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    net.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    net.add_argument("--api-key-env", metavar="NAME", help="environment variable holding the bearer token clients must send (none: no token)")
    net.add_argument("--workers", type=int, default=32, help="requests served at once (default 32)")
    cache = parser.add_argument_group("cache")
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    cache.add_argument("--cache-dir", metavar="DIR", help="feature cache folder (default: $FRAMEPICK_CACHE_DIR or the user cache dir)")
    add_device_args(parser)
    add_grid_args(parser)
    parser.set_defaults(run=run)


def _env_secret(name: str | None, flag: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name, "").strip()
    if not value:
        raise InvalidArgumentError(f"{flag} {name}: the environment variable {name} is not set or empty")
    return value


def run(args: argparse.Namespace) -> int:
    from framepick.answer.prompt import load_template
    from framepick.api import DEFAULT_METHOD, feature_cache
    from framepick.serve import (
        FrameImages, FramePicker, PickSettings, Proxy, ProxyServer, RemoteLimits, RemoteVideos, ServerSettings, Upstream,
        VideoRoot,
    )

    finish_grid_args(args)
    for flag, value in (("-k", args.k), ("--max-k", args.max_k), ("--max-side", args.max_side), ("--workers", args.workers)):
        if value < 1:
            raise InvalidArgumentError(f"{flag} must be a positive integer, got {value}")
    if not 0 < args.port < 65536:
        raise InvalidArgumentError(f"--port must be 1-65535, got {args.port}")
    apply_device_args(args)
    token = _env_secret(args.api_key_env, "--api-key-env")
    upstream = Upstream(args.upstream, _env_secret(args.upstream_key_env, "--upstream-key-env"), args.upstream_timeout)
    root = VideoRoot(args.videos_root, allow_remote=args.allow_remote)
    remote = None
    if args.allow_remote:
        remote = RemoteVideos(RemoteLimits(max_bytes=int(args.remote_max_mb * (1 << 20)), timeout=args.remote_timeout))
    template = load_template(args.prompt or "default")
    picker = FramePicker(PickSettings(
        method=args.method or DEFAULT_METHOD, k=args.k, max_k=args.max_k, encoder=args.encoder, grid=grid_from_args(args),
        cache=feature_cache(False if args.no_cache else (args.cache_dir or True)), allow_damaged=args.allow_damaged,
        seed=args.seed,
    ))
    if args.frame_cache_mb < 0:
        raise InvalidArgumentError(f"--frame-cache-mb must be >= 0, got {args.frame_cache_mb}")
    images = FrameImages(args.max_side, int(args.frame_cache_mb * (1 << 20)))
    proxy = Proxy(picker, root, upstream, template=template, images=images, remote=remote)
    try:
        server = ProxyServer(proxy, ServerSettings(host=args.host, port=args.port, workers=args.workers, token=token))
    except OSError as exc:
        raise InvalidArgumentError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    log = logging.getLogger("framepick.serve")
    saved_level = log.level
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # the request lines are the point of a server's log
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without --api-key-env: anyone who reaches the port can use the upstream", args.host)
    _check_upstream(proxy, log)
    # SIGTERM (a service manager, a test) stops the server as Ctrl-C does: the accept loop ends,
    # the listening socket closes, the command returns.
    previous = None
    if threading.current_thread() is threading.main_thread():  # signals can only be set there
        # shutdown() waits for the accept loop, which this thread runs: call it from another.
        previous = signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(
        f"framepick serve: {server.url} -> {upstream.base_url} (method {picker.default_method}, k {args.k}, "
        f"encoder {picker.encoder.id}, videos root {root.root or 'none'}, remote {'on' if remote else 'off'})",
        file=sys.stderr, flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if remote is not None:
            remote.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        log.setLevel(saved_level)
    return 0


def _check_upstream(proxy, log: logging.Logger) -> None:
    """Say at start when the upstream is not there yet: a warning, not an error (it may be
    starting too); requests meanwhile get a 502 naming it."""
    from framepick.serve.api_errors import ApiError

    try:
        outcome = proxy.forward("GET", "/models", None, {})
    except ApiError as exc:
        log.warning("the upstream %s does not answer yet: %s", proxy.upstream.base_url, exc.message)
        return
    if outcome.status != 200:
        log.warning("the upstream %s answered /models with HTTP %d", proxy.upstream.base_url, outcome.status)
