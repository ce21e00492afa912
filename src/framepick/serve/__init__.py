"""``framepick serve``: query-aware frame selection as an OpenAI-compatible proxy.

Any OpenAI client gets better frames by changing its base URL: a chat request whose user message
holds a ``video_url`` part and a question is answered by selecting ``k`` frames for that question,
sending them upstream (vLLM, SGLang, any OpenAI-compatible MLLM server) as labelled images, and
returning the upstream's reply with the chosen frames in a ``framepick`` field. ``docs/serve.md``.

One idea per module:

- :mod:`~framepick.serve.paths`: which video a request may name (the videos root, refusals);
- :mod:`~framepick.serve.remote`: http(s) videos, when allowed, bounded in size and time;
- :mod:`~framepick.serve.once`: each video prepared once, however many requests ask together;
- :mod:`~framepick.serve.picker`: the encoder, the selectors and the prepared videos;
- :mod:`~framepick.serve.frames`: the chosen frames as JPEGs, kept across requests;
- :mod:`~framepick.serve.rewrite`: a request with a video into one with the frames;
- :mod:`~framepick.serve.upstream`: the MLLM server behind the proxy;
- :mod:`~framepick.serve.proxy`: what a request becomes, apart from HTTP;
- :mod:`~framepick.serve.server`: HTTP (standard library, bounded worker pool);
- :mod:`~framepick.serve.api_errors`: errors in the OpenAI shape.

A top floor, like ``cli``: it imports ``api``, ``pipeline``, ``qa`` and ``answer``; only ``cli``
imports it.
"""

from framepick.serve.frames import FrameImages
from framepick.serve.paths import VideoRoot
from framepick.serve.picker import FramePicker, PickSettings
from framepick.serve.proxy import Proxy
from framepick.serve.remote import RemoteLimits, RemoteVideos
from framepick.serve.server import ProxyServer, ServerSettings
from framepick.serve.upstream import Upstream

__all__ = [
    "FrameImages",
    "FramePicker",
    "PickSettings",
    "Proxy",
    "ProxyServer",
    "RemoteLimits",
    "RemoteVideos",
    "ServerSettings",
    "Upstream",
    "VideoRoot",
]
