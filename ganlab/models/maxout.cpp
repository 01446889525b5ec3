// Fused CPU maxout, built on first use by ganlab/models/maxout.py (torch.utils.cpp_extension).
//
// forward: h [..., units * k] (contiguous) -> values [..., units] and the index of each unit's
// first maximal piece (uint8), in one pass. Semantics are torch.max(-1)'s: a tie goes to the
// first piece, a NaN wins over numbers (the first NaN). torch.max over a last dimension of 5
// finds the index with a scalar loop; here the compare-and-select runs on 16 units at once
// (AVX-512, float32) or as a branch-free scalar loop.
// backward: g [..., units] -> grad h [..., units * k], zeros except g at the saved index: each
// thread zero-fills its own block, then writes its gradients into it while the block is in cache
// (autograd's max backward: a zero-fill of the whole tensor, then a scatter).
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace {

constexpr int64_t kBlock = 256;  // units per inner block: its indices stay in L1

// K > 0: pieces known at compile time (the unrolled compare chain vectorises); K == 0: any k.
template <typename scalar_t, int K>
void forward_range(const scalar_t* __restrict__ in, scalar_t* __restrict__ out,
                   uint8_t* __restrict__ index, int64_t begin, int64_t end, int64_t k_runtime) {
  const int64_t k = K > 0 ? K : k_runtime;
  int32_t block_index[kBlock];
  for (int64_t u0 = begin; u0 < end; u0 += kBlock) {
    const int64_t n = std::min(kBlock, end - u0);
    const scalar_t* __restrict__ p = in + u0 * k;
    int any_nan = 0;
    for (int64_t u = 0; u < n; ++u) {
      scalar_t best = p[u * k];
      int32_t best_j = 0;
      int nan = best != best;
      for (int64_t j = 1; j < k; ++j) {
        const scalar_t v = p[u * k + j];
        const bool greater = v > best;  // strict: the first maximum keeps the tie
        best = greater ? v : best;
        best_j = greater ? static_cast<int32_t>(j) : best_j;
        nan |= v != v;
      }
      out[u0 + u] = best;
      block_index[u] = best_j;
      any_nan |= nan;
    }
    for (int64_t u = 0; u < n; ++u) index[u0 + u] = static_cast<uint8_t>(block_index[u]);
    if (any_nan) {  // rare: redo the units holding a NaN so that the first NaN wins
      for (int64_t u = 0; u < n; ++u) {
        for (int64_t j = 0; j < k; ++j) {
          const scalar_t v = p[u * k + j];
          if (v != v) {
            out[u0 + u] = v;
            index[u0 + u] = static_cast<uint8_t>(j);
            break;
          }
        }
      }
    }
  }
}

#if defined(__AVX512F__)
// float32 on AVX-512: 16 units per step. Their 16·k pre-activations are k registers; piece j of
// unit u sits at flat position u·k + j, so one masked lane permute per register gathers piece j of
// all 16 units (the compiler keeps the scalar loop above scalar for k = 5: interleaved groups of 5
// are not a pattern it vectorises). Tiles holding a NaN, and the tail, go through the scalar loop.
void forward_range_avx512(const float* __restrict__ in, float* __restrict__ out,
                          uint8_t* __restrict__ index, int64_t begin, int64_t end, int64_t k) {
  alignas(64) int32_t lanes[16][16];  // [piece][unit]: the lane within its register
  __mmask16 masks[16][16] = {};       // [piece][register]: the units whose piece sits there
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t u = 0; u < 16; ++u) {
      const int64_t q = u * k + j;
      lanes[j][u] = static_cast<int32_t>(q % 16);
      masks[j][q / 16] |= static_cast<__mmask16>(1u << u);
    }
  }
  int64_t u0 = begin;
  for (; u0 + 16 <= end; u0 += 16) {
    const float* p = in + u0 * k;
    __m512 reg[16];
    for (int64_t r = 0; r < k; ++r) reg[r] = _mm512_loadu_ps(p + 16 * r);
    __m512 best = _mm512_setzero_ps();
    __m512i best_j = _mm512_setzero_si512();
    __mmask16 nan = 0;
    for (int64_t j = 0; j < k; ++j) {
      const __m512i lane = _mm512_load_si512(lanes[j]);
      __m512 v = _mm512_setzero_ps();
      for (int64_t r = 0; r < k; ++r)
        if (masks[j][r]) v = _mm512_mask_permutexvar_ps(v, masks[j][r], lane, reg[r]);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      if (j == 0) {
        best = v;
        continue;
      }
      const __mmask16 greater = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);  // strict: first max keeps a tie
      best = _mm512_mask_mov_ps(best, greater, v);
      best_j = _mm512_mask_mov_epi32(best_j, greater, _mm512_set1_epi32(static_cast<int32_t>(j)));
    }
    if (nan) {
      forward_range<float, 0>(in, out, index, u0, u0 + 16, k);
      continue;
    }
    _mm512_storeu_ps(out + u0, best);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(index + u0), _mm512_cvtepi32_epi8(best_j));
  }
  if (u0 < end) forward_range<float, 0>(in, out, index, u0, end, k);
}
#endif

template <typename scalar_t>
void forward_dispatch(const scalar_t* in, scalar_t* out, uint8_t* index, int64_t begin,
                      int64_t end, int64_t k) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (k <= 16) return forward_range_avx512(in, out, index, begin, end, k);
  }
#endif
  switch (k) {
    case 2: return forward_range<scalar_t, 2>(in, out, index, begin, end, k);
    case 3: return forward_range<scalar_t, 3>(in, out, index, begin, end, k);
    case 4: return forward_range<scalar_t, 4>(in, out, index, begin, end, k);
    case 5: return forward_range<scalar_t, 5>(in, out, index, begin, end, k);
    case 6: return forward_range<scalar_t, 6>(in, out, index, begin, end, k);
    case 8: return forward_range<scalar_t, 8>(in, out, index, begin, end, k);
    default: return forward_range<scalar_t, 0>(in, out, index, begin, end, k);
  }
}

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> maxout_forward(torch::Tensor h, int64_t k) {
  TORCH_CHECK(h.device().is_cpu() && h.is_contiguous(), "maxout_forward: needs a contiguous CPU tensor");
  TORCH_CHECK(k >= 2 && k <= 255, "maxout_forward: k must be in 2..255 (a uint8 index), got ", k);
  TORCH_CHECK(h.dim() >= 1 && h.size(-1) % k == 0, "maxout_forward: the last dimension of a ",
              h.dim(), "-d input must be a multiple of k = ", k);
  auto sizes = h.sizes().vec();
  sizes.back() /= k;
  auto values = torch::empty(sizes, h.options());
  auto index = torch::empty(sizes, h.options().dtype(torch::kUInt8));
  const int64_t units = values.numel();
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "maxout_forward", [&] {
    const scalar_t* in = h.data_ptr<scalar_t>();
    scalar_t* out = values.data_ptr<scalar_t>();
    uint8_t* idx = index.data_ptr<uint8_t>();
    at::parallel_for(0, units, 4096, [&](int64_t begin, int64_t end) {
      forward_dispatch<scalar_t>(in, out, idx, begin, end, k);
    });
  });
  return {values, index};
}

torch::Tensor maxout_backward(torch::Tensor g, torch::Tensor index, int64_t k) {
  g = g.contiguous();
  TORCH_CHECK(g.device().is_cpu() && index.scalar_type() == torch::kUInt8 &&
                  index.is_contiguous() && index.sizes() == g.sizes(),
              "maxout_backward: gradient and index must be CPU tensors of one shape");
  auto sizes = g.sizes().vec();
  sizes.back() *= k;
  auto grad = torch::empty(sizes, g.options());
  const int64_t units = g.numel();
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "maxout_backward", [&] {
    const scalar_t* gp = g.data_ptr<scalar_t>();
    const uint8_t* idx = index.data_ptr<uint8_t>();
    scalar_t* out = grad.data_ptr<scalar_t>();
    at::parallel_for(0, units, 4096, [&](int64_t begin, int64_t end) {
      std::memset(out + begin * k, 0, sizeof(scalar_t) * (end - begin) * k);
      for (int64_t u = begin; u < end; ++u) out[u * k + idx[u]] = gp[u];
    });
  });
  return grad;
}

bool has_avx512() {  // whether forward_range_avx512 was compiled in (the build's flags)
#if defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}
