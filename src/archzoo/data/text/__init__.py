"""Text data: corpora, labelled texts and sentence pairs in memory, and the tokenizers that turn
them into ids.

``TextCorpus`` (language modelling), ``TextClassificationSet`` (text classification) and
``ParallelCorpus`` (translation) are what the text datasets load; ``build_tokenizer`` trains a char,
word or BPE tokenizer on the training text, and ``save_tokenizer``/``load_tokenizer`` keep it with a
run. For translation, ``build_pair_tokenizers`` trains the source and target tokenizers,
``encode_pairs`` turns sentence pairs into padded ids and ``PairBatches`` batches them.
"""

from archzoo.data.text.corpus import (
    FOLD_SEED,
    TextClassificationSet,
    TextCorpus,
    decode_text,
    read_text,
    split_lines,
)
from archzoo.data.text.parallel import (
    PAIR_TOKENIZER_FILES,
    PAIR_TOKENIZER_KINDS,
    PairBatches,
    ParallelCorpus,
    build_pair_tokenizers,
    encode_pairs,
    load_pair_tokenizers,
    read_lines,
    read_parallel_dir,
    read_parallel_files,
    save_pair_tokenizers,
)
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
    "PAIR_TOKENIZER_FILES",
    "PAIR_TOKENIZER_KINDS",
    "SPECIAL_TOKENS",
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "PairBatches",
    "ParallelCorpus",
    "TextClassificationSet",
    "TextCorpus",
    "Tokenizer",
    "WordTokenizer",
    "build_pair_tokenizers",
    "build_tokenizer",
    "decode_text",
    "encode_pairs",
    "load_pair_tokenizers",
    "load_tokenizer",
    "read_lines",
    "read_parallel_dir",
    "read_parallel_files",
    "read_text",
    "save_pair_tokenizers",
    "save_tokenizer",
    "split_lines",
    "tokenizer_from_json",
]
