"""Exercise checks (`check_*`), one module per chapter of the book; not part of genai_lib.

An exercise in a chapter is three cells: a Markdown question headed
``### Exercise N.k — title (easy|medium|hard, ~M min)``; a code cell whose solution lies between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` (otter-grader's markers, so a student version replaces it
with ``...``); and a cell calling the matching ``check_*`` function, which prints what is correct or
raises :class:`CheckError` saying what is wrong. The checks hold no reference solutions: they compare
with stored values (``genai_checks/answers/``) or test properties of the answer.
"""

from genai_checks.appendix_b import (
    check_amdahl_speedup,
    check_combine_shard_gradients,
    check_combine_shard_gradients_float32,
)
from genai_checks.ch00 import (
    check_accuracy,
    check_class_means,
    check_class_means_shuffled,
)
from genai_checks.ch01 import (
    check_gaussian_mle,
    check_kl_gaussians,
    check_sample_mixture,
    check_sample_mixture_small,
)
from genai_checks.ch02 import (
    check_jsd,
    check_non_saturating_grad,
    check_non_saturating_loss,
    check_optimal_discriminator,
)
from genai_checks.ch03 import (
    check_conv_transpose_size,
    check_slerp,
    check_slerp_mixed_batch,
)
from genai_checks.ch04 import (
    check_fd_diagonal,
    check_spectral_norm_power,
    check_spectral_norm_power_float32,
)
from genai_checks.ch04b import (
    check_demodulate_weights,
    check_demodulate_weights_zero_style,
    check_truncate_layers,
)
from genai_checks.ch05 import (
    check_gaussian_kl,
    check_gaussian_kl_sequences,
    check_negative_elbo,
    check_reparameterize,
)
from genai_checks.ch06 import (
    check_active_units,
    check_bits_per_dim,
    check_iwae_from_log_weights,
    check_iwae_spread_batch,
)
from genai_checks.ch07 import (
    check_codebook_perplexity,
    check_codebook_perplexity_any_shape,
    check_nearest_code,
    check_straight_through,
)
from genai_checks.ch08 import (
    check_conversion_any_shape,
    check_nats_to_bpc_and_perplexity,
    check_sample_bigram,
    check_smoothed_bigram_nll,
)
from genai_checks.ch09 import (
    check_causal_attention,
    check_causal_attention_large_scores,
    check_split_merge_heads,
)
from genai_checks.ch10 import (
    check_apply_temperature,
    check_apply_temperature_rows,
    check_loss_per_char,
    check_top_p_probs,
)
from genai_checks.ch11 import (
    check_add_noise,
    check_add_noise_training_batch,
    check_ddim_step,
)
from genai_checks.ch12 import (
    check_drop_labels,
    check_drop_labels_small_batches,
    check_guided_eps,
)
from genai_checks.ch13 import (
    check_latent_scale,
    check_masked_cross_attention,
    check_masked_cross_attention_heads,
)
from genai_checks.ch14 import (
    check_ar_sequences,
    check_guided_logits,
    check_guided_logits_masked,
    check_positions_processed,
)
from genai_checks.ch15 import (
    check_exact_match,
    check_exact_match_reordered,
    check_wilson_interval,
)
from genai_checks.ch16 import (
    check_longest_verbatim,
    check_longest_verbatim_inside,
    check_memorisation_rate,
)
from genai_checks.ch17 import (
    check_fgsm,
    check_watermark_zscore,
    check_watermark_zscore_colour,
)
from genai_checks.ch18 import (
    check_parallel_fifths,
    check_parallel_fifths_compound,
    check_voice_tokens,
    check_voice_tokens_other_low,
)
from genai_checks.ch19 import (
    check_mu_law,
    check_mu_law_other_mu,
    check_receptive_field,
    check_receptive_field_measured,
)
from genai_checks.ch20 import (
    check_centroid,
    check_centroid_not_square,
    check_score_cost,
    check_score_cost_other_width,
)
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = [
    "CheckError",
    "expect",
    "expect_answer",
    "expect_close",
    "passed",
    "check_combine_shard_gradients",
    "check_combine_shard_gradients_float32",
    "check_amdahl_speedup",
    "check_class_means",
    "check_class_means_shuffled",
    "check_accuracy",
    "check_gaussian_mle",
    "check_kl_gaussians",
    "check_sample_mixture",
    "check_sample_mixture_small",
    "check_optimal_discriminator",
    "check_non_saturating_loss",
    "check_non_saturating_grad",
    "check_jsd",
    "check_conv_transpose_size",
    "check_slerp",
    "check_slerp_mixed_batch",
    "check_fd_diagonal",
    "check_spectral_norm_power",
    "check_spectral_norm_power_float32",
    "check_demodulate_weights",
    "check_demodulate_weights_zero_style",
    "check_truncate_layers",
    "check_gaussian_kl",
    "check_gaussian_kl_sequences",
    "check_reparameterize",
    "check_negative_elbo",
    "check_iwae_from_log_weights",
    "check_iwae_spread_batch",
    "check_bits_per_dim",
    "check_active_units",
    "check_nearest_code",
    "check_straight_through",
    "check_codebook_perplexity",
    "check_codebook_perplexity_any_shape",
    "check_nats_to_bpc_and_perplexity",
    "check_conversion_any_shape",
    "check_smoothed_bigram_nll",
    "check_sample_bigram",
    "check_causal_attention",
    "check_causal_attention_large_scores",
    "check_split_merge_heads",
    "check_apply_temperature",
    "check_apply_temperature_rows",
    "check_top_p_probs",
    "check_loss_per_char",
    "check_add_noise",
    "check_add_noise_training_batch",
    "check_ddim_step",
    "check_guided_eps",
    "check_drop_labels",
    "check_drop_labels_small_batches",
    "check_masked_cross_attention",
    "check_masked_cross_attention_heads",
    "check_latent_scale",
    "check_ar_sequences",
    "check_guided_logits",
    "check_guided_logits_masked",
    "check_positions_processed",
    "check_exact_match",
    "check_exact_match_reordered",
    "check_wilson_interval",
    "check_memorisation_rate",
    "check_longest_verbatim",
    "check_longest_verbatim_inside",
    "check_fgsm",
    "check_watermark_zscore",
    "check_watermark_zscore_colour",
    "check_voice_tokens",
    "check_voice_tokens_other_low",
    "check_parallel_fifths",
    "check_parallel_fifths_compound",
    "check_receptive_field",
    "check_receptive_field_measured",
    "check_mu_law",
    "check_mu_law_other_mu",
    "check_score_cost",
    "check_score_cost_other_width",
    "check_centroid",
    "check_centroid_not_square",
]
