"""Translation datasets: Multi30k, and any directory of line-aligned parallel text a user brings.

- ``multi30k-de-en``, ``multi30k-en-de``: Multi30k task 1 (Elliott, Frank, Sima'an, Specia,
  "Multi30K: Multilingual English-German Image Descriptions", VL@ACL 2016), one English caption of a
  Flickr30k image and its German translation per line, untokenised, UTF-8: train 29,000 pairs, val
  1,014, test_2016_flickr 1,000, test_2017_flickr 1,000, test_2017_mscoco 461, test_2018_flickr
  1,071. The split reported as the test set is ``test_2016_flickr``, the one the literature calls
  "the Multi30k test set". Files: the ``data/task1/raw/`` ``.gz`` files of the publisher's
  repository (github.com/multi30k/dataset), read in memory as published. The captions derive from
  Flickr30k, for research and non-commercial use.
- ``parallel:DIR``: ``DIR/{split}.{lang}`` (or ``.gz``) files, see
  :func:`archzoo.data.text.read_parallel_dir`; options ``src_lang``, ``tgt_lang`` (the file suffixes:
  ``--set src_lang=de --set tgt_lang=en``) and ``encoding``.

Checksums: the SHA-256 of each published ``.gz`` (those of the repository's files at commit a3d2e0d;
three of them, train.en.gz, train.de.gz and val.de.gz, are also pinned by an independent project) and
of its decompressed content, so a copy stored decompressed is verified too.
"""

from __future__ import annotations

from pathlib import Path

from archzoo.data import Loader, register_dataset, register_dataset_prefix
from archzoo.data.files import SOURCES, FileSpec, Source, ensure, register_source
from archzoo.data.text.parallel import ParallelCorpus, read_parallel_dir, read_parallel_files

MULTI30K_SPLITS = ("train", "val", "test_2016_flickr", "test_2017_flickr", "test_2017_mscoco", "test_2018_flickr")
MULTI30K_TEST = "test_2016_flickr"
MULTI30K_LANGUAGES = ("de", "en")

register_source(Source(
    name="multi30k",
    files=(
        FileSpec("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
                 "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72"),
        FileSpec("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
                 "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6"),
        FileSpec("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
                 "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660"),
        FileSpec("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
                 "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227"),
        FileSpec("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
                 "4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16"),
        FileSpec("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
                 "399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182"),
        FileSpec("test_2017_flickr.de.gz", "a2c89666db00c495cd8513b9d708d5a3acc205d7de312ef2bf5fb7ebc1540aee",
                 "c3078bc3b36808bf9d20eb2347ed6137016179ef59ec0d2b9b8ecc3fb2880081"),
        FileSpec("test_2017_flickr.en.gz", "76a444ee25172e72695cddb13ae4a3bda59430617be88e0bb46b60504f054074",
                 "ce1450ddc5ab0834502579d77a170849952e15a2938b34cc503bdc25ebb4fb98"),
        FileSpec("test_2017_mscoco.de.gz", "799e4854c25d601cb6cb6be29eabe5667734c61ace2f495e03e429031a0bc338",
                 "58277df3c75f92f7145a11b910b553d1cf82c439249d4dc237c899609eafac22"),
        FileSpec("test_2017_mscoco.en.gz", "aab300bfb4427697987e02cd0aacd44bfe8aa50456231b6474c08038bbed2b58",
                 "43051fdfa86fd5395182e718a94ca67b1b227b9f7c79596ff0f6b813216981d2"),
        FileSpec("test_2018_flickr.de.gz", "ddd0130c7d97482dc5197a02141dae8dd79f20f03586c480d675c09a32daf608",
                 "39fcc8b3331d76fb42d648d019c6898b0d5e58baac87bc2a0bb93f44ec8db207"),
        FileSpec("test_2018_flickr.en.gz", "ef4f4844037d4c5dea75c9a8ed5fd78905967a26f67c255e230cc9780032654d",
                 "4e585c2dd525911a6ea7730e9d0b516239af3f1b1ffae6a2130223cfb639f25e"),
    ),
    urls=("https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/",),
))


def _multi30k(src_lang: str, tgt_lang: str) -> Loader:
    def load(root: Path, download: bool) -> ParallelCorpus:
        paths = ensure(SOURCES["multi30k"], root, download_missing=download)
        files = {split: (paths[f"{split}.{src_lang}.gz"], paths[f"{split}.{tgt_lang}.gz"])
                 for split in MULTI30K_SPLITS}
        return read_parallel_files(
            f"multi30k-{src_lang}-{tgt_lang}", files, src_lang, tgt_lang, MULTI30K_TEST,
            source=str(paths["train.en.gz"].parent),
            notes={"files": {name: str(path) for name, path in paths.items()}},
        )

    return load


def _parallel_dir(argument: str) -> Loader:
    def load(root: Path, download: bool, *, src_lang: str = "", tgt_lang: str = "",
             encoding: str = "utf-8") -> ParallelCorpus:
        return read_parallel_dir(argument, src_lang, tgt_lang, encoding, name=f"parallel:{argument}")

    return load


for _src, _tgt in (MULTI30K_LANGUAGES, MULTI30K_LANGUAGES[::-1]):
    register_dataset(
        f"multi30k-{_src}-{_tgt}", _multi30k(_src, _tgt), task="translation", source="multi30k",
        description=f"Multi30k (Elliott et al. 2016) {_src}->{_tgt} image captions: 29,000 train pairs, val 1,014, "
                    "test_2016_flickr 1,000 (reported) and three more test sets",
    )
register_dataset_prefix(
    "parallel", _parallel_dir, task="translation", metavar="DIR",
    description="DIR/{train,val,test}.{SRC,TGT}[.gz], line-aligned sentence pairs "
                "(--set src_lang=de --set tgt_lang=en; --set encoding=...)",
)
