"""Training K-frames' clip predictor (paper 000, Sec. 3.2-3.3): ``framepick train kframes-mllm``.

A whole MLLM is trained here, on TRL's trainers, in the paper's three stages:

- ``sft1`` (:mod:`.sft_data`, :mod:`.sft`): the grounding tasks of Fig. 11-13 (caption-to-scene
  localization, scene-to-caption generation, clip-query relevance scoring);
- ``sft2``: key-clip prediction with the Fig. 14 prompt, targets from PeakClips labels;
- ``grpo`` (:mod:`.reward`, :mod:`.grpo`): the policy writes clips, K-frames' any-k sampling picks
  k frames from them, a frozen answerer scores the frames with Eq. 2; Dr. GRPO advantages (Eq. 3).

Every stage shows the model its frames the way :mod:`framepick.clip_model` does at inference
(index drawn on each frame, ``Frame n:`` before it), and writes a model folder that
``--clip-model hf:DIR`` (and the ``hf:`` answerer) loads. TRL is an optional dependency
(``pip install 'framepick[train-mllm]'``), imported only when a stage runs.
"""
