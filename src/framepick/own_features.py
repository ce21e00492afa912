"""A user's own embeddings as a selector's input: ``framepick select --features`` and
:func:`framepick.select_from_features`.

Frames are a ``[T, D]`` float array (T >= 1, one row per candidate) and the query a ``[D]`` or
``[Q, D]`` one in the same space, at any norm: rows are L2-normalised, as framepick's encoders
give them, and each frame row's original norm is kept (:attr:`~framepick.types.Features.norms`)
for a model trained on raw features (the TSPO authors' released agent sees the rows as given).
A selection's ``index`` is then the row.

Files are ``.npy``, or ``.npz`` holding exactly one array; nothing else is read (a ``.pt`` would
mean unpickling arbitrary objects: save it with ``numpy.save(path, tensor.numpy())``).

What each kind of method does without a video:

- score- and feature-based methods (topk, aks, bolt, mmr, the learned ones, ``+dedup``) run as on
  a video, on the given rows;
- ``uniform`` needs nothing (no query either);
- ``kframes`` needs scenes, which on a video come from colour histograms; here they come from the
  rows themselves: the same cut rule over ``(1 - cos) / 2`` of consecutive rows
  (:func:`framepick.video.scenes.feature_boundary_scores`);
- methods that read the question's words (videoitg's instruction type) get ``question`` as text,
  never embedded; option-aware ones (msjoe) get ``options`` as embeddings when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import GIVEN_ENCODER_ID, Candidates, Features, Scene

if TYPE_CHECKING:
    from framepick.select.base import Selector, SelectorInput

READABLE_SUFFIXES = (".npy", ".npz")


def read_array(path: str | Path, flag: str) -> np.ndarray:
    """The array in ``path`` (``.npy``, or ``.npz`` with one array), or a one-line error naming ``flag``."""
    path = Path(path)
    where = f"{flag} {str(path)!r}"
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise InvalidArgumentError(
            f"{where}: framepick reads .npy or .npz (one array), not {suffix or 'a file without a suffix'}; "
            "save it with numpy.save(path, array) (from torch: tensor.float().numpy())"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidArgumentError(f"{where} is not a readable {suffix} array ({exc})") from None
    if suffix == ".npz":
        with loaded:
            names = list(loaded.files)
            if len(names) != 1:
                raise InvalidArgumentError(f"{where} holds {len(names)} arrays ({', '.join(names) or 'none'}); give one")
            return loaded[names[0]]
    return loaded


def _real_array(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InvalidArgumentError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise InvalidArgumentError(f"{name} holds {int(bad.sum())} NaN or inf value(s), the first at {first}")
    return array


def _unit_rows(array: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(array, axis=1)
    if np.any(norms == 0):
        raise InvalidArgumentError(f"{name} row {int(np.flatnonzero(norms == 0)[0])} is all zeros: it has no direction")
    return (array / norms[:, None]).astype(np.float32), norms.astype(np.float32)


def frame_features(values: Any, name: str = "frames") -> Features:
    """``[T, D]`` rows (T >= 1) as L2-normalised :class:`Features` keeping their norms."""
    array = _real_array(values, name)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InvalidArgumentError(f"{name} must be a [T, D] array with T >= 1 and D >= 1, got shape {array.shape}")
    unit, norms = _unit_rows(array, name)
    return Features(unit, None, GIVEN_ENCODER_ID, norms)


def query_rows(values: Any, dim: int, name: str = "query") -> np.ndarray:
    """A ``[D]`` or ``[Q, D]`` embedding as ``[Q, D]`` unit rows in the frames' width ``dim``."""
    array = _real_array(values, name)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != dim:
        raise InvalidArgumentError(f"{name} must be [{dim}] or [Q, {dim}] (the frames' width), got shape {np.shape(values)}")
    return _unit_rows(array, name)[0]


def given_timestamps(values: Any, total: int, name: str = "timestamps") -> np.ndarray:
    """``[T]`` finite, non-decreasing seconds, one per frame row."""
    array = _real_array(values, name)
    if array.shape != (total,):
        raise InvalidArgumentError(f"{name} must hold one time per frame row ({total}), got shape {array.shape}")
    if np.any(np.diff(array) < 0):
        raise InvalidArgumentError(f"{name} must not decrease (row {int(np.flatnonzero(np.diff(array) < 0)[0]) + 1} goes back)")
    return array


def feature_scenes(features: Features) -> tuple[Scene, ...]:
    """Scenes of the rows by their own similarity: the video's cut rule on ``(1 - cos) / 2``."""
    from framepick.video.scenes import feature_boundary_scores, scenes_from_boundaries

    return scenes_from_boundaries(feature_boundary_scores(features.embeddings), len(features))


def selector_input(
    selector: Selector,
    method: str,
    frames: Any,
    query: Any = None,
    *,
    timestamps: Any = None,
    options: Any = None,
    question: str | None = None,
    names: dict[str, str] | None = None,
) -> SelectorInput:
    """Everything ``selector`` needs, from the user's arrays; ``names`` maps ``frames``, ``query``,
    ``options`` and ``timestamps`` to what errors call them (the CLI's flags)."""
    from framepick.pipeline import relevance
    from framepick.select.base import SelectorInput

    called = {"frames": "frames", "query": "query", "options": "options", "timestamps": "timestamps", **(names or {})}
    features = frame_features(frames, called["frames"])
    dim = features.embeddings.shape[1]
    rows = None if query is None else query_rows(query, dim, called["query"])
    if rows is None and selector.query_aware:
        raise InvalidArgumentError(f"method {method!r} picks frames for a query: give the query embedding ({called['query']})")
    if question is not None and not isinstance(question, str):
        raise InvalidArgumentError(f"question must be a string, got {type(question).__name__}")
    times = None if timestamps is None else given_timestamps(timestamps, len(features), called["timestamps"])
    return SelectorInput(
        num_candidates=len(features),
        scores=None if rows is None else relevance(features, rows),
        scenes=feature_scenes(features) if "scenes" in selector.needs else None,
        features=features,
        query_embedding=rows,
        # No video: the candidates are the rows, with the caller's times when given.
        candidates=Candidates(np.arange(len(features)), times),
        option_embeddings=None if options is None else query_rows(options, dim, called["options"]),
        question=question.strip() or None if question else None,
    )
