// The Python modules written into every MosaicBERT model directory (see PythonModeling.swift), kept here as
// Swift string literals so that an installed binary needs no resource files. Plain PyTorch, written for this
// project; modeling_mosaic_bert.py mirrors EncoderLayer.swift and Attention.swift operation for operation.
// Scripts/check-python.sh checks that they embed as 05-embed does.

extension PythonModeling {
    static let configurationSource = #"""
"""Configuration of Lodestone's MosaicBERT encoder, written by Lodestone in Swift (03-mosaic-model, 04-training).

The fields are those of a BERT config.json plus `alibi_starting_size`. MosaicBERT has no position embeddings:
ALiBi biases the attention scores by distance instead, for any sequence length, so `max_position_embeddings`
does not limit the input and `alibi_starting_size` is kept only as the length the model was configured for.
"""
from transformers import PretrainedConfig


class MosaicBertConfig(PretrainedConfig):
    # "bert", as config.json says: the tokenizer and tools that read model_type keep treating it as BERT.
    model_type = "bert"

    def __init__(
        self,
        vocab_size=30528,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        alibi_starting_size=512,
        **kwargs,
    ):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.alibi_starting_size = alibi_starting_size

"""#

    static let modelingSource = #"""
"""Lodestone's MosaicBERT encoder in plain PyTorch, written by Lodestone in Swift (03-mosaic-model, 04-training).

The same computation as the Swift encoder (Sources/LodestoneModel/EncoderLayer.swift), so that
`SentenceTransformer(dir, trust_remote_code=True)` embeds exactly as `05-embed` does:
  embeddings: word + token type (no position embeddings) → LayerNorm
  each layer (post-LN): qkv = x·Wqkvᵀ + b; softmax(q·kᵀ/√d − slope_h·|i − j|)·v → dense → LayerNorm(· + x)
                        h = x·gated_layersᵀ; gelu(h[:, :I]) · h[:, I:] → wo → LayerNorm(· + x)
ALiBi is computed for the length of each batch, so inputs longer than `alibi_starting_size` need no table.
Padded positions are masked out of attention (a batch embeds as its rows do alone) and are zero in the
output. The model returns the last hidden states; sentence-transformers' Pooling module takes their mean.
No Triton, no compiled extensions: runs wherever PyTorch does.

Parameter names are those of the MosaicBERT checkpoints (`bert.embeddings.…`, `bert.encoder.layer.N.…`), so
both the directories Lodestone writes and the original `mosaicml/mosaic-bert-base*` weights load into it.
"""
import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from .configuration_mosaic_bert import MosaicBertConfig


def alibi_slopes(heads):
    """Per-head slopes: geometric for a power of two; otherwise the closest lower power of two's slopes
    followed by every other slope of the next power of two (as the Swift `alibiSlopes(heads:)`)."""

    def power_of_two(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    def slopes(n):
        exponent = math.log2(n)
        if exponent == round(exponent):
            return power_of_two(n)
        closest = 2 ** int(math.floor(exponent))
        return power_of_two(closest) + slopes(2 * closest)[0::2][: n - closest]

    return slopes(heads)


def alibi_bias(heads, length, device):
    """[heads, length, length]: −slope_h · |i − j|, built for this length (no table to outgrow)."""
    slopes = torch.tensor(alibi_slopes(heads), dtype=torch.float32, device=device)
    positions = torch.arange(length, device=device)
    distance = (positions[None, :] - positions[:, None]).abs().to(torch.float32)
    return -(slopes[:, None, None] * distance)


class MosaicBertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, token_type_ids=None, inputs_embeds=None):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros(inputs_embeds.shape[:-1], dtype=torch.long, device=inputs_embeds.device)
        return self.dropout(self.LayerNorm(inputs_embeds + self.token_type_embeddings(token_type_ids)))


class MosaicBertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden_states, bias):
        batch, length, hidden = hidden_states.shape
        qkv = self.Wqkv(hidden_states).view(batch, length, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [batch, heads, length, head_dim]
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)) + bias
        probabilities = self.dropout(torch.softmax(scores, dim=-1))
        return torch.matmul(probabilities, v).transpose(1, 2).reshape(batch, length, hidden)


class MosaicBertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, attended, residual):
        return self.LayerNorm(self.dropout(self.dense(attended)) + residual)


class MosaicBertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = MosaicBertSelfAttention(config)
        self.output = MosaicBertSelfOutput(config)

    def forward(self, hidden_states, bias):
        return self.output(self.self(hidden_states, bias), hidden_states)


class MosaicBertGatedMLP(nn.Module):
    """gated_layers produces [gated | non-gated] halves; gelu(gated) · non-gated → wo → LayerNorm(· + x)."""

    def __init__(self, config):
        super().__init__()
        if config.hidden_act not in ("gelu", "gelu_python"):
            raise ValueError(f"hidden_act '{config.hidden_act}' is not supported (only exact GELU)")
        self.inner = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.act = nn.GELU()
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states):
        h = self.gated_layers(hidden_states)
        gated = self.act(h[..., : self.inner]) * h[..., self.inner :]
        return self.layernorm(self.dropout(self.wo(gated)) + hidden_states)


class MosaicBertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = MosaicBertAttention(config)
        self.mlp = MosaicBertGatedMLP(config)

    def forward(self, hidden_states, bias):
        return self.mlp(self.attention(hidden_states, bias))


class MosaicBertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([MosaicBertLayer(config) for _ in range(config.num_hidden_layers)])


class MosaicBertStack(nn.Module):
    """Embeddings and layers: the checkpoints' `bert.` module."""

    def __init__(self, config):
        super().__init__()
        self.embeddings = MosaicBertEmbeddings(config)
        self.encoder = MosaicBertEncoder(config)


class MosaicBertPreTrainedModel(PreTrainedModel):
    config_class = MosaicBertConfig
    base_model_prefix = "bert"

    def _init_weights(self, module):
        # As the Swift random initialisation: normal(0, initializer_range) matrices, padding row 0,
        # LayerNorm weight 1, biases 0.
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class MosaicBertModel(MosaicBertPreTrainedModel):
    """The encoder, returning the last hidden states (padded positions zero)."""

    def __init__(self, config):
        super().__init__(config)
        self.bert = MosaicBertStack(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.bert.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.bert.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        inputs_embeds=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        hidden_states = self.bert.embeddings(input_ids, token_type_ids, inputs_embeds)
        batch, length, _ = hidden_states.shape
        if attention_mask is None:
            attention_mask = torch.ones(batch, length, dtype=torch.long, device=hidden_states.device)
        keep = attention_mask.to(torch.bool)
        bias = alibi_bias(self.config.num_attention_heads, length, hidden_states.device).to(hidden_states.dtype)
        # Padded keys get the lowest score: their probability is exactly 0, as if they were absent.
        bias = bias[None].masked_fill(~keep[:, None, None, :], torch.finfo(hidden_states.dtype).min)
        all_hidden_states = [hidden_states] if output_hidden_states else None
        for layer in self.bert.encoder.layer:
            hidden_states = layer(hidden_states, bias)
            if output_hidden_states:
                all_hidden_states.append(hidden_states)
        hidden_states = hidden_states * keep[..., None].to(hidden_states.dtype)
        if all_hidden_states is not None:
            all_hidden_states[-1] = hidden_states
            all_hidden_states = tuple(all_hidden_states)
        if return_dict is False:
            return (hidden_states,) + ((all_hidden_states,) if all_hidden_states is not None else ())
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden_states)

"""#
}
