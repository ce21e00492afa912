"""The frames part of a sample's prompts, made once, and a dataset that hands them to TRL on access.

Every prompt of a sample starts with the same shown frames (``Frame n:`` and the frame with n drawn
on it, :func:`framepick.clip_model.prompt_parts`), and SFT1 makes several prompts per sample. The
frames are rendered once per sample (:class:`ShownVideo`) and the dataset rows carry only text and
the sample's key; ``images`` is attached when TRL reads a row (``Dataset.with_transform``), so no
frame is copied per example nor encoded into the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from framepick.answer.prompt import ImagePart, TextPart
from framepick.clip_model import prompt_parts
from framepick.train_mllm.video_frames import SampleFrames


@dataclass(frozen=True)
class ShownVideo:
    """One sample's frames as the clip model sees them: the message's leading parts and the images."""

    content: tuple[dict[str, Any], ...]
    """Per shown frame ``{"type": "text", "text": "Frame n:"}`` and an image placeholder, in order."""
    images: tuple[np.ndarray, ...]
    """The shown frames with their index drawn on (the visual prompt), one per placeholder."""

    @classmethod
    def of(cls, frames: SampleFrames) -> "ShownVideo":
        content: list[dict[str, Any]] = []
        images = []
        for part in prompt_parts(frames.shown_frames, "")[:-1]:  # the frames, without the instruction
            if isinstance(part, ImagePart):
                content.append({"type": "image", "text": None})
                images.append(np.ascontiguousarray(part.image))
            elif isinstance(part, TextPart):
                content.append({"type": "text", "text": part.text})
        return cls(tuple(content), tuple(images))

    def prompt(self, text: str) -> list[dict[str, Any]]:
        """The user message: the frames, then ``text``."""
        return [{"role": "user", "content": [dict(part) for part in self.content] + [{"type": "text", "text": text}]}]

    def pil_images(self) -> list[Any]:
        from PIL import Image

        return [Image.fromarray(image, mode="RGB") for image in self.images]


class AttachImages:
    """``Dataset.with_transform`` function: each row's ``images`` from the video its ``key_column`` names."""

    def __init__(self, videos: Mapping[int, ShownVideo], key_column: str) -> None:
        self.videos = videos
        self.key_column = key_column

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        batch["images"] = [self.videos[int(key)].pil_images() for key in batch[self.key_column]]
        return batch


def dataset_with_images(rows: Sequence[dict[str, Any]], videos: Mapping[int, ShownVideo], key_column: str) -> Any:
    """A ``datasets.Dataset`` of ``rows`` (text and keys) whose rows come with their ``images``."""
    from datasets import Dataset

    return Dataset.from_list(list(rows)).with_transform(AttachImages(videos, key_column))
