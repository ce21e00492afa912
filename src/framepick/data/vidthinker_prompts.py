"""VidThinker's prompts and the strict readers of their replies (VideoITG, paper 002, Sec. 3.1-3.2).

The paper prints one prompt in full, the clip retrieval prompt of its Table 8; :data:`RETRIEVAL_TASK`
is that text word for word (typography normalised to ASCII quotes, the example lines as printed).
The other prompts are described, not printed, and are written here from the paper's descriptions:

- **Cue extraction**, ``k = LLM(q, a)`` (Eq. 1): "extract salient phrases that capture the core
  information needed to fulfil the instruction", e.g. q = "What does the man playing the drums do
  with his feet as he plays the drum?", a = "moves his feet" -> k = "The man playing the drums moves
  his feet and hits the drums with his hands." (the paper's own example, used as the one-shot).
- **Instructed clip captioning**, ``c_i = MLLM(k, v_i)``: the cue guides attention, but the model
  "strictly adheres to visual evidence and only incorporates information from the extracted phrases
  when it is explicitly observable in the current clip".
- **Instructed frame localization**, ``y_j = LLM(f_j, q, a)``, ``y_j in {yes, no}`` (Eq. 3).
- **Instruction type** (Sec. 3.2): the four types with the paper's definitions and examples. (The
  paper's Tables 9-10 are two narrower yes/no probes, speed and non-existence, that feed its own
  typing; a single four-way question with the Sec. 3.2 definitions is the direct reading.)

Readers are strict: a reply that does not have the asked-for form is an error
(:class:`ReplyError`), never guessed at. Tolerated: surrounding whitespace, a Markdown code fence
around the retrieval JSON (chat models add one), and trailing punctuation or an explanation after a
leading yes/no.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from framepick.answer.reply import ReplyError, excerpt
from framepick.policies.instruction import INSTRUCTION_TYPES

PROMPT_VERSION = "vidthinker-v1"
"""Names every prompt below in the reply cache: change a word, change this."""

RETRIEVAL_TASK = """Task:
You are an expert in analyzing video clip descriptions. Your task is to select which clip or combination of clips is necessary to answer the given question, ensuring the selected clips effectively cover the content of both the question and the answer.
Guidelines:
* Carefully read the descriptions to determine which clip(s) provide relevant content for the question and the answer.
* Clip descriptions are in chronological order. Use clip number to locate clips based on time-related expressions (e.g., "at the beginning of the video" suggests a smaller clip number, while "at the end of the video" suggests a larger one).
* First, determine if one clip can answer the question or if multiple clips are needed. Then, return a list containing the selected clip(s) and an explanation.
* If the question asks about the existence/movement of an object or event. The object/action/movement may not exist, meaning you can't find the answer in the description, but the question might still provide some clues. You need to find the sentence closest to those clues.
* If asked about the whole video description or overall atmosphere, you should return all clip numbers.
* If multiple clips provide similar descriptions of the content and any of them can be used to answer the question, return all corresponding clips.
* If there are no clues in all descriptions and cannot answer the question, return "None.".
* Important: Avoid including unnecessary clips.
Output Format:
1. Your output should be formed in a JSON file.
2. Only return the Python dictionary string.
For example:
{"explanation": "...", "clipnum": "One clip: [Clip-2]"}
{"explanation": "...", "clipnum": "Multiple clips: [Clip-1, Clip-7, Clip-8]"}
{"explanation": "...", "clipnum": "None."}"""
"""Table 8 of the paper, word for word."""

CUE_TASK = (
    "Extract the salient phrases that capture the core information needed to answer the question, "
    "combining the question and its answer into one or two short declarative sentences about what "
    "should be visible in the video. Do not add anything that the question and answer do not say.\n"
    "Example:\n"
    "Question: What does the man playing the drums do with his feet as he plays the drum?\n"
    "Answer: moves his feet\n"
    "Phrases: The man playing the drums moves his feet and hits the drums with his hands.\n"
    "Reply with the phrases only."
)

CAPTION_TASK = (
    "These frames are one {seconds:g}-second clip of a video, in time order. Describe what is "
    "visible in this clip in two or three sentences. Reference phrases about what the viewer is "
    "looking for: \"{cue}\". Use the reference phrases only to decide what to pay attention to: "
    "mention their content only if it is explicitly visible in these frames, and never infer or "
    "invent content from them. Reply with the description only."
)

FRAME_TASK = (
    "Question: {question}\nAnswer: {answer}\n"
    "Is this frame relevant to the question and its answer, that is, does it show visual evidence "
    "needed to answer the question? Respond with \"Yes\" or \"No\" only."
)

TYPE_TASK = (
    "Classify the instruction below into one of four types by what visual evidence it needs.\n"
    "- semantic: semantic content such as people, scenes or objects. Example: \"What did the man do "
    "before getting into the car?\"\n"
    "- motion: dynamic actions, such as movement type, speed or direction. Example: \"How does the "
    "person jump off the diving board?\"\n"
    "- semantic_motion: both semantic and motion understanding. Example: \"Could you describe the "
    "camera movement in the video?\"\n"
    "- no_clue: open-ended or vague, without a clear semantic or motion focus. Example: \"Please "
    "describe the video in detail.\"\n"
    "Instruction: {question}\n"
    "Respond with the type's name only: semantic, motion, semantic_motion or no_clue."
)

if tuple(re.findall(r"^- (\w+):", TYPE_TASK, flags=re.MULTILINE)) != INSTRUCTION_TYPES:
    raise AssertionError("TYPE_TASK must list INSTRUCTION_TYPES in order")  # one definition of the names


def qa_lines(question: str, answer: str | None) -> str:
    """``Question: ...`` and, when known, ``Answer: ...`` (an open question has no answer)."""
    text = f"Question: {question.strip()}"
    return text if not answer else f"{text}\nAnswer: {answer.strip()}"


def cue_prompt(question: str, answer: str | None) -> str:
    return f"{CUE_TASK}\n{qa_lines(question, answer)}\nPhrases:"


def caption_prompt(cue: str, seconds: float) -> str:
    return CAPTION_TASK.format(seconds=seconds, cue=" ".join(cue.split()))


def retrieval_prompt(captions: Sequence[str], question: str, answer: str | None) -> str:
    """Table 8, then the clips (``Clip-1`` first, as the paper's examples number them) and the QA pair."""
    clips = "\n".join(f"Clip-{n}: {' '.join(caption.split())}" for n, caption in enumerate(captions, start=1))
    return f"{RETRIEVAL_TASK}\n\nClip descriptions:\n{clips}\n\n{qa_lines(question, answer)}"


def frame_prompt(question: str, answer: str | None) -> str:
    return FRAME_TASK.format(question=question.strip(), answer=(answer or "(open question)").strip())


def type_prompt(question: str) -> str:
    return TYPE_TASK.format(question=" ".join(question.split()))


def read_text(reply: str, what: str) -> str:
    """A free-text reply (cue, caption): non-empty after stripping."""
    text = reply.strip()
    if not text:
        raise ReplyError(f"the {what} reply was empty")
    return text


_FENCE = re.compile(r"^```(?:json|python)?\s*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)
_CLIPNUM = re.compile(
    r"^(?:(?:one\s+clip|multiple\s+clips)\s*:\s*\[\s*(clip-\d+(?:\s*,\s*clip-\d+)*)\s*\]|(none)\.?)$", re.IGNORECASE
)


def read_retrieval(reply: str, num_clips: int) -> tuple[list[int], str]:
    """The clips Table 8's reply names, 0-based and sorted, and its explanation.

    The reply must be one JSON object with a string ``clipnum`` in one of the three forms the
    prompt shows (``One clip: [Clip-2]``, ``Multiple clips: [Clip-1, Clip-7]``, ``None.``) and every
    clip number in 1..``num_clips``. ``None.`` gives an empty list.
    """
    text = reply.strip()
    if not text:
        raise ReplyError("the clip retrieval reply was empty")
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ReplyError(f"the clip retrieval reply is not a JSON object: {excerpt(reply)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clipnum"), str):
        raise ReplyError(f"the clip retrieval reply has no string 'clipnum': {excerpt(reply)}")
    match = _CLIPNUM.match(data["clipnum"].strip())
    if match is None:
        raise ReplyError(f"the clip retrieval reply's clipnum has none of Table 8's forms: {data['clipnum']!r}")
    explanation = data.get("explanation")
    explanation = explanation.strip() if isinstance(explanation, str) else ""
    if match.group(2):
        return [], explanation
    numbers = sorted({int(n) for n in re.findall(r"\d+", match.group(1))})
    outside = [n for n in numbers if not 1 <= n <= num_clips]
    if outside:
        raise ReplyError(f"the clip retrieval reply names Clip-{outside[0]}, but there are clips 1-{num_clips}")
    return [n - 1 for n in numbers], explanation


_YES_NO = re.compile(r"^[\s\"'*]*(yes|no)\b", re.IGNORECASE)


def read_yes_no(reply: str) -> bool:
    """True for a reply that begins with yes, False for no (case and punctuation aside)."""
    match = _YES_NO.match(reply)
    if match is None:
        raise ReplyError(f"the frame reply is neither yes nor no: {excerpt(reply)}")
    return match.group(1).lower() == "yes"


_TYPE_NAMES = {name.replace("_", " "): name for name in INSTRUCTION_TYPES}
_TYPE_NAMES.update({"semantic & motion": "semantic_motion", "semantic and motion": "semantic_motion",
                    "non clues": "no_clue", "no clues": "no_clue"})


def read_instruction_type(reply: str) -> str:
    """One of :data:`~framepick.policies.instruction.INSTRUCTION_TYPES`: the whole reply must be a
    type's name (``semantic_motion`` may be written with a space, or as the paper's "Semantic &
    Motion"; ``no_clue`` as "Non Clues"), quotes and a final full stop aside."""
    text = " ".join(reply.strip().strip("\"'`*").rstrip(".").lower().replace("_", " ").split())
    if text not in _TYPE_NAMES:
        raise ReplyError(f"the instruction type reply names none of {', '.join(INSTRUCTION_TYPES)}: {excerpt(reply)}")
    return _TYPE_NAMES[text]


