"""Implementations of :class:`retrieval.embedding.Embedder`, one module per runtime.

``sentence_transformer`` runs the model with sentence-transformers on torch; ``onnx_runtime``
runs a quantised ONNX export of the same weights (made once by ``onnx_export``). Pick one by
name through :func:`retrieval.embedding.load_embedder`.
"""
