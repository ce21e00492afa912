"""``framepick embed``: decode and embed many videos into the feature cache, ahead of any question.

What :func:`framepick.pipeline.prepare_video` would write for each video (its index, every
encoder's features and the colour histograms scenes are cut from), made in bulk so that later
``select``, ``answer``, ``eval`` and ``train`` runs on those videos neither decode nor encode.

One machine (:mod:`framepick.embed.local`): a thread decodes batches while the encoders embed the
one before. A cluster (:mod:`framepick.embed.on_ray`, the ``ray`` extra): Ray Data decodes as CPU
tasks and encodes in actors holding the models. Both run the same stages
(:mod:`framepick.embed.stages`) and hand what they make to one writer on the driver
(:mod:`framepick.embed.assemble`). Nothing here imports Ray at import time.
"""
