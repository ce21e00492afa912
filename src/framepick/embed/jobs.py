"""Plan a video against the cache: which entries are missing, and is its index already there."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from framepick.embed.events import EmbedJob
from framepick.embed.spec import Extractor
from framepick.encode.cache import FeatureCache, feature_key
from framepick.errors import VideoError
from framepick.pipeline import cached_index
from framepick.video.candidates import GridSpec
from framepick.video.probe import content_hash


def plan_job(
    number: int, video: str, cache: FeatureCache, extractors: Mapping[str, Extractor], grid: GridSpec
) -> EmbedJob | None:
    """The job for ``video``, or None when its index and every extractor's entry are cached.

    Reads about 1 MB of the file (its content hash) and the cache; decodes nothing. Raises
    :class:`VideoError` for a missing or unreadable file. An entry that reads back corrupt counts
    as missing (the cache deletes it), so a rerun rebuilds it.
    """
    path = Path(video)
    if not path.is_file():
        raise VideoError(f"video file not found: {video!r}" if not path.exists() else f"not a video file: {video!r}")
    digest = content_hash(path)
    index = cached_index(cache, path, digest)
    grid_key = grid.key()
    missing = tuple(
        extractor_id
        for extractor_id in extractors
        if cache.get(feature_key(digest, extractor_id, grid_key)) is None
    )
    if index is not None and not missing:
        return None
    # Entries without their index (a lost file): the job only probes, nothing is decoded again.
    short_side = max((extractors[extractor_id].input_size for extractor_id in missing), default=0)
    return EmbedJob(number, str(video), digest, missing, short_side, index)
