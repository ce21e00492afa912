"""framepick: pick the K frames of a long video that a multimodal LLM needs for a question."""
