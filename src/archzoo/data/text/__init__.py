"""Text data: corpora and labelled texts in memory, and the tokenizers that turn them into ids.

``TextCorpus`` (language modelling) and ``TextClassificationSet`` (text classification) are what the
text datasets load; ``build_tokenizer`` trains a char, word or BPE tokenizer on the training text,
and ``save_tokenizer``/``load_tokenizer`` keep it with a run.
"""

from archzoo.data.text.corpus import FOLD_SEED, TextClassificationSet, TextCorpus, read_text, split_lines
from archzoo.data.text.tokenizers import (
    SPECIAL_TOKENS,
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
    save_tokenizer,
    tokenizer_from_json,
)

__all__ = [
    "FOLD_SEED",
    "SPECIAL_TOKENS",
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "TextClassificationSet",
    "TextCorpus",
    "Tokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "read_text",
    "save_tokenizer",
    "split_lines",
    "tokenizer_from_json",
]
