"""PeakClips' two instructional prompts (paper 000, K-frames, Appendix C.1, Figures 7 and 8).

**Fig. 7, scene captions.** The paper's prompt asks Gemini 2.5 Pro for the whole video at once
(``{{video}}`` and a ``{{timestamp}}`` list of scenes) and for scenes, chapters and a summary. Here
each scene is captioned on its own, from a few of its frames, so any MLLM can do it (an MLLM's
context holds tens of frames, not a whole video). The prompt keeps the paper's words where they
apply to one scene: the role and rules, Step 2 (OCR, composition, combined description) word for
word with ``{{timestamp}}`` filled by the scene's one-entry list, and Step 6 (the JSON assembly),
renumbered as Steps 1 and 2 (its three bullets written ``* **Perform OCR:**``, the paper's text having
lost their markup to ``****Perform OCR**:**``). The paper's Step 1 (a skim of the whole video), Step 3 (scene
refinement: our scene cuts are the histogram-difference scenes and stay fixed, so a reply never
moves a boundary), Step 4 (chapters) and Step 5 (the video summary) need the whole video and are
left out. The paper's text drops the JSON structure after "Output Format:"; the one given here is
the scene object of its Fig. 9 annotation (``id``, ``start_time``, ``end_time``, ``description``).

**Fig. 8, relevance scores**, word for word. The paper does not show where the scene data goes:
it follows the instruction as a ``Scene data:`` JSON list of ``scene_id``, ``start_sec``,
``end_sec`` (the field names of Fig. 9) and ``description`` (the caption), because the prompt says
"Use the scene's description and timing". ``{{question}}`` is the question with its lettered
options (as the paper's Fig. 10 sample shows it) and ``{{answer}}`` the gold option ("D. From the
left"); a sample without one says ``not given``. The scorer sees text only, no frames.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from framepick.types import Sample, option_letter, question_with_options

CAPTION_PROMPT = """\
You are a professional Video Content Analyst. Your primary task is to meticulously analyze a video \
based on a provided list of scene timestamps and generate a structured, detailed summary in a strict JSON format.

Critical Rule: The final output **MUST** be a single, valid JSON text.

Output Format: Strictly adhere to the following JSON structure:
{"scenes": [{"id": 1, "start_time": "0.0", "end_time": "3.971", "description": "..."}]}

Analysis Steps: Follow these reasoning steps to generate the final JSON output:

[Step 1]: Detailed Scene-by-Scene Analysis
Iterate through each scene object provided in the `{timestamp}` list. The number of scenes you \
describe **must exactly match** the number provided in the timestamp data. For each scene, you must \
perform the following actions to generate a single combined description:
* **Perform OCR:** Analyze the visual content of the scene to detect and transcribe any on-screen text.
* **Describe Events & Composition:** First, analyze the scene's composition by identifying the key \
visual elements within the frame. Describe their positions and spatial relationships to convey the \
structure of the image. Then write a highly detailed and objective description of what is happening \
in the scene, ensuring the timeframe corresponds exactly to the `start_time` and `end_time` provided.
* **Combine for Output:** The results from both actions must be combined into the single \
description field. If text was detected, describe it at the beginning, followed by the visual description.

[Step 2]: Final JSON Assembly
Assemble all the generated data into the single, valid JSON text specified in the Output Format. \
Ensure all keys, brackets, and commas are correct."""
"""Fig. 7, cut to one scene (module docstring); ``{timestamp}`` is the scene's one-entry list."""

SCORE_PROMPT = """\
You are a Video QA Relevance Analyst. Your task is to analyze a video, which has been broken down \
into timed scenes, and evaluate how relevant each scene is to answering a specific question.

For each scene, you will assign a relevance score from 5 (most relevant) to 1 (least relevant). \
Your final output must be a single, valid JSON object.

Critical Rule: The scene_id in your output must exactly match the scene_id from the provided scene data.

Output Format: Strictly adhere to the following JSON structure:

```
{{
  "relevance_analysis": [
    {{
      "scene_id": 1,
      "relevance_score": 1,
      "reason": "A brief explanation."
    }},
    {{
      "scene_id": 2,
      "relevance_score": 5,
      "reason": "This scene directly shows the action."
    }}
  ],
  "video": {{
    "video": {{}}
  }},
  "video_description": {{
    "video_description": {{}}
  }}
}}
```

Analysis and Scoring Instructions

[Step 1]: Understand the Core Task

First, carefully review the user's question and the provided correct answer. Your goal is to \
identify which video scenes contain the visual evidence needed to arrive at that correct answer.

Question: {question}

Correct Answer: {answer}

[Step 2]: Analyze Each Scene Against the Question

You will now evaluate each scene one by one. Use the scene's description and timing to determine \
its relevance to the question and answer.

[Step 3]: Assign a Relevance Score

Use the following 5-point scale to score each scene. Be strict and objective in your evaluation.

Score 5 (Directly Relevant): The scene contains the most critical visual information that directly \
and unambiguously answers the question. Without this scene, the question would be difficult or \
impossible to answer.

Score 4 (Highly Relevant): The scene provides strong, supporting visual context that reinforces the \
correct answer, but it may not be the single most crucial scene. It clearly shows an important part \
of the activity in question.

Score 3 (Moderately Relevant): The scene shows the subject or environment related to the question \
but does not show the key action itself. It provides context but is not sufficient to answer the \
question on its own.

Score 2 (Slightly Relevant): The scene has a weak or indirect connection to the question. For \
example, it might show the person just before or after the main activity, or focus on a background element.

Score 1 (Not Relevant): The scene contains no visual information that helps answer the question. It \
might be an establishing shot, a shot of an empty room, or an unrelated action.

[Step 4]: Assemble the Final JSON Output

Compile the analysis for all scenes into the final JSON format specified above. Ensure every scene \
from the input data has a corresponding entry in your output.

Scene data:
{scenes}"""
"""Fig. 8 word for word, then the scene data (module docstring)."""

NO_ANSWER = "not given"


def seconds_text(seconds: float) -> str:
    """Seconds as the prompts write them: at most 3 decimals, no trailing zeros ("3.971", "12.0")."""
    text = f"{seconds:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def caption_prompt(scene_id: int, start_seconds: float, end_seconds: float) -> str:
    """The caption instruction for one scene (ids count from 1, as in the paper's figures)."""
    timestamp = json.dumps(
        [{"id": scene_id, "start_time": seconds_text(start_seconds), "end_time": seconds_text(end_seconds)}]
    )
    return CAPTION_PROMPT.replace("{timestamp}", timestamp)


def question_text(sample: Sample) -> str:
    """The question with its lettered options, one per line (the paper's Fig. 10 layout)."""
    return question_with_options(sample.question, sample.options)


def answer_text(sample: Sample) -> str:
    """The gold option as ``"D. From the left"``, or :data:`NO_ANSWER`."""
    index = sample.answer_index
    if index is None:
        return NO_ANSWER
    return f"{option_letter(index)}. {sample.options[index].strip()}"


def score_prompt(sample: Sample, scenes: Sequence[tuple[int, float, float, str]]) -> str:
    """The scoring instruction for ``scenes``: (scene_id, start, end seconds, caption) each."""
    data = [
        {"scene_id": scene_id, "start_sec": round(start, 3), "end_sec": round(end, 3), "description": caption}
        for scene_id, start, end, caption in scenes
    ]
    return SCORE_PROMPT.format(
        question=question_text(sample), answer=answer_text(sample), scenes=json.dumps(data, indent=2, ensure_ascii=False)
    )
