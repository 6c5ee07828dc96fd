"""Data sets (offline by default), tokenizers and resumable batch samplers."""

from genai_lib.data.batches import Batches, SequenceBatches, WindowBatches
from genai_lib.data.bpe import BPETokenizer
from genai_lib.data.catalog import DataStatus, availability
from genai_lib.data.chorale_tokens import ChoraleTokenizer, chorale_token_stream, event_length
from genai_lib.data.chorales import Chorale, chorale_report, load_chorales, transpose  # music21 loads lazily
from genai_lib.data.clips import CaptionedClips, make_clips
from genai_lib.data.download import cache_dir, download, sha256sum
from genai_lib.data.images import ImageData, load_colour_images, load_digits, load_images, load_mnist
from genai_lib.data.sounds import SoundData, load_sounds  # numpy and torch only: procedural notes
from genai_lib.data.text import CharTokenizer, load_text, train_val_split

__all__ = [
    "Batches",
    "SequenceBatches",
    "WindowBatches",
    "DataStatus",
    "availability",
    "cache_dir",
    "download",
    "sha256sum",
    "ImageData",
    "load_digits",
    "load_images",
    "load_colour_images",
    "load_mnist",
    "CharTokenizer",
    "BPETokenizer",
    "load_text",
    "train_val_split",
    "Chorale",
    "load_chorales",
    "chorale_report",
    "transpose",
    "ChoraleTokenizer",
    "chorale_token_stream",
    "event_length",
    "SoundData",
    "CaptionedClips",
    "make_clips",
    "load_sounds",
]
