#pragma once
// The one kernel argument of every attention template, shared by host (C++) and device (NVRTC) code.
// Plain data only: no CUDA types, no host types. Q, K, V, O are [batch, heads, seqlen, head_dim] contiguous;
// lse is [batch, heads, seqlen] fp32 (natural log of the softmax normalizer, scale included). workspace is
// scratch device memory for templates that keep intermediates in HBM (the standard algorithm's S and P,
// FlashAttention-1's running O, m and l): as many bytes as the template's workspace_bytes() asks for, not
// initialized; null when it asks for none.

namespace flashtune {

struct AttentionParams {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  float* lse;
  int batch;
  int heads;
  int seqlen;
  float scale_log2;  // softmax scale * log2(e): scores are exponentiated with exp2
  void* workspace;
};

}  // namespace flashtune
