"""The C of the event-driven input side: the active inputs of a step, and their projection.

Filled into each compute type's section of the template (``@INPUTS@``):

- ``bm_active``: the inputs of a step that are not 0 (indices and values),
  from a 16-bit mask per block of 16 values (AVX-512 or AVX2 when the
  compiler targets them, plain C otherwise), visiting the set bits only;
- ``bm_active_u8``: the same for 0/1 inputs given as bytes (bool or uint8);
- ``bm_project``: ``out = sum_a x_a W_in^T[a]`` over a list of active inputs,
  in registers (a spike adds the row itself: ``1 * w`` is ``w``); the W_in
  gradient (:mod:`~brianmodes.neurons.compiled_helpers`) reuses it per input.
"""

INPUTS = r"""/* the active inputs of a step (x != 0): indices and values; blocks of 16 zeros are skipped */
typedef @BITS@ BM_(bits);
static const BM_(bits) BM_(nosign) = ~((BM_(bits))1 << (8 * sizeof(BM_(bits)) - 1));

/* bit j set when p[j] is not +-0 (NaN included, as x != 0), for j < 16 */
static inline unsigned BM_(bm_nonzero16)(const real *bmp)
{
#if defined(__AVX512F__)
    if (sizeof(real) == 4) {
        const __m512i bmv = _mm512_loadu_si512((const void *)bmp);
        return (unsigned)_mm512_test_epi32_mask(bmv, _mm512_set1_epi32(0x7fffffff));
    }
    const __m512i bmlo = _mm512_loadu_si512((const void *)bmp), bmhi = _mm512_loadu_si512((const void *)(bmp + 8));
    const __m512i bmns = _mm512_set1_epi64(0x7fffffffffffffffLL);
    return (unsigned)_mm512_test_epi64_mask(bmlo, bmns) | ((unsigned)_mm512_test_epi64_mask(bmhi, bmns) << 8);
#elif defined(__AVX2__)
    unsigned bmm = 0;
    if (sizeof(real) == 4) {
        for (int bmh = 0; bmh < 2; bmh++) {
            const __m256 bmv = _mm256_loadu_ps((const float *)bmp + 8 * bmh);
            bmm |= (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(bmv, _mm256_setzero_ps(), _CMP_NEQ_UQ)) << (8 * bmh);
        }
        return bmm;
    }
    for (int bmh = 0; bmh < 4; bmh++) {
        const __m256d bmv = _mm256_loadu_pd((const double *)bmp + 4 * bmh);
        bmm |= (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(bmv, _mm256_setzero_pd(), _CMP_NEQ_UQ)) << (4 * bmh);
    }
    return bmm;
#else
    BM_(bits) bmb[16];
    unsigned bmm = 0;
    memcpy(bmb, bmp, sizeof bmb);
    for (int bmj = 0; bmj < 16; bmj++)
        bmm |= (unsigned)((bmb[bmj] & BM_(nosign)) != 0) << bmj;
    return bmm;
#endif
}

static inline int BM_(bm_lowest)(unsigned bmm)
{
#if defined(__GNUC__)
    return __builtin_ctz(bmm);
#else
    int bmj = 0;
    while (!(bmm & 1u)) { bmm >>= 1; bmj++; }
    return bmj;
#endif
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && !defined(BM_NO_VECTOR_LANES)
#define BM_COMPRESS 1  /* the active entries of 16 values written with one compress (no loop over the set bits) */
/* idx[c..] = base + j for the set bits j of m (16 int32 are written: the lists have 16 entries of slack) */
static inline int64_t BM_(bm_emit16)(unsigned bmm, int64_t bmbase, int32_t *restrict bmidx, int64_t bmc)
{
    const __m512i bmiota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    _mm512_storeu_si512((void *)(bmidx + bmc), _mm512_maskz_compress_epi32(
        (__mmask16)bmm, _mm512_add_epi32(bmiota, _mm512_set1_epi32((int)bmbase))));
    return bmc + __builtin_popcount(bmm);
}
#endif

static int64_t BM_(bm_active)(const real *restrict bmx, int64_t bmNI, int32_t *restrict bmidx,
                              real *restrict bmval)
{
    int64_t bmc = 0, bmi = 0;
    for (; bmi + 16 <= bmNI; bmi += 16) {
        const unsigned bmm = BM_(bm_nonzero16)(bmx + bmi);
        if (!bmm)
            continue;
#ifdef BM_COMPRESS
        const int64_t bmc0 = bmc;
        bmc = BM_(bm_emit16)(bmm, bmi, bmidx, bmc);
        if (sizeof(real) == 4)
            _mm512_storeu_ps((void *)(bmval + bmc0), _mm512_maskz_compress_ps((__mmask16)bmm,
                             _mm512_loadu_ps((const void *)(bmx + bmi))));
        else
            for (int64_t bmj = bmc0; bmj < bmc; bmj++)
                bmval[bmj] = bmx[bmidx[bmj]];
#else
        for (unsigned bmr = bmm; bmr; bmr &= bmr - 1) {
            const int64_t bmk = bmi + BM_(bm_lowest)(bmr);
            bmidx[bmc] = (int32_t)bmk;
            bmval[bmc++] = bmx[bmk];
        }
#endif
    }
#ifdef BM_COMPRESS
    if (sizeof(real) == 4 && bmi < bmNI) {  /* the last 1..15 values (all of a few analog inputs): one masked load */
        const __mmask16 bmk = (__mmask16)((1u << (bmNI - bmi)) - 1);
        const __m512i bmv = _mm512_maskz_loadu_epi32(bmk, (const void *)(bmx + bmi));
        const unsigned bmm = (unsigned)_mm512_test_epi32_mask(bmv, _mm512_set1_epi32(0x7fffffff));
        if (bmm) {
            const int64_t bmc0 = bmc;
            bmc = BM_(bm_emit16)(bmm, bmi, bmidx, bmc);
            _mm512_storeu_ps((void *)(bmval + bmc0), _mm512_maskz_compress_ps((__mmask16)bmm,
                             _mm512_castsi512_ps(bmv)));
        }
        return bmc;
    }
#endif
    for (; bmi < bmNI; bmi++)
        if (bmx[bmi] != 0) {
            bmidx[bmc] = (int32_t)bmi;
            bmval[bmc++] = bmx[bmi];
        }
    return bmc;
}

/* event-driven input projection: out = sum over the active inputs a (ascending) of x_a W_in^T[a],
   accumulated in registers, 128 neurons at a time; with add, out = out + that sum (one pass) */
static void BM_(bm_project)(const int32_t *restrict bmidx, const real *restrict bmval, int64_t bmc,
                            const real *restrict bmWT, real *restrict bmout, int64_t bmN, int bmadd)
{
#ifdef BM_VECTOR_LANES
/* NV accumulators of 16 neurons in registers; a spike adds the row itself (1 * w is w: the same sum) */
#define BM_PROJECT(NV)                                                                                       \
    {                                                                                                      \
        BM_(v16) bma[NV];                                                                                  \
        for (int bmk = 0; bmk < NV; bmk++)                                                                 \
            bma[bmk] = (BM_(v16)){0};                                                                      \
        for (int64_t bma_i = 0; bma_i < bmc; bma_i++) {                                                    \
            const real *restrict bmrow = bmWT + (int64_t)bmidx[bma_i] * bmN + bmn0;                        \
            const real bmv = bmval[bma_i];                                                                 \
            if (bmv == 1)                                                                                  \
                for (int bmk = 0; bmk < NV; bmk++)                                                         \
                    bma[bmk] += BM_(bm_load)(bmrow + 16 * bmk);                                            \
            else                                                                                           \
                for (int bmk = 0; bmk < NV; bmk++)                                                         \
                    bma[bmk] += bmv * BM_(bm_load)(bmrow + 16 * bmk);                                      \
        }                                                                                                  \
        if (bmadd)                                                                                         \
            for (int bmk = 0; bmk < NV; bmk++)                                                             \
                bma[bmk] = BM_(bm_load)(bmout + bmn0 + 16 * bmk) + bma[bmk];                               \
        memcpy(bmout + bmn0, bma, sizeof bma);                                                             \
    }
    for (int64_t bmn0 = 0; bmn0 < bmN; bmn0 += 128)
        switch ((bmN - bmn0) / 16 < 8 ? (bmN - bmn0) / 16 : 8) {
        case 1: BM_PROJECT(1) break;
        case 2: BM_PROJECT(2) break;
        case 3: BM_PROJECT(3) break;
        case 4: BM_PROJECT(4) break;
        case 5: BM_PROJECT(5) break;
        case 6: BM_PROJECT(6) break;
        case 7: BM_PROJECT(7) break;
        default: BM_PROJECT(8) break;
        }
#undef BM_PROJECT
#else
    real bmtmp[128];
    for (int64_t bmn0 = 0; bmadd && bmn0 < bmN; bmn0 += 128) {  /* out + sum: the sum first, as above */
        const int64_t bmn1 = bmN - bmn0 < 128 ? bmN - bmn0 : 128;
        memset(bmtmp, 0, sizeof bmtmp);
        for (int64_t bma_i = 0; bma_i < bmc; bma_i++) {
            const real *restrict bmrow = bmWT + (int64_t)bmidx[bma_i] * bmN + bmn0;
            const real bmv = bmval[bma_i];
            for (int64_t bm_n = 0; bm_n < bmn1; bm_n++)
                bmtmp[bm_n] += bmv == 1 ? bmrow[bm_n] : bmv * bmrow[bm_n];
        }
        for (int64_t bm_n = 0; bm_n < bmn1; bm_n++)
            bmout[bmn0 + bm_n] = bmout[bmn0 + bm_n] + bmtmp[bm_n];
    }
    if (bmadd)
        return;
    memset(bmout, 0, sizeof(real) * bmN);
    for (int64_t bma_i = 0; bma_i < bmc; bma_i++) {
        const real *restrict bmrow = bmWT + (int64_t)bmidx[bma_i] * bmN;
        const real bmv = bmval[bma_i];
        if (bmv == 1)
            for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                bmout[bm_n] += bmrow[bm_n];
        else
            for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                bmout[bm_n] += bmv * bmrow[bm_n];
    }
#endif
}

/* the same for inputs given as bytes (0/1 spikes as uint8 or bool: a quarter of the memory to read) */
static int64_t BM_(bm_active_u8)(const uint8_t *restrict bmx, int64_t bmNI, int32_t *restrict bmidx,
                                 real *restrict bmval)
{
    int64_t bmc = 0, bmi = 0;
#ifdef BM_COMPRESS
    for (; bmi + 64 <= bmNI; bmi += 64) {
        const __m512i bmv = _mm512_loadu_si512((const void *)(bmx + bmi));
        const uint64_t bmm = (uint64_t)_mm512_test_epi8_mask(bmv, bmv);
        for (int bmq = 0; bmq < 4; bmq++) {
            const unsigned bmm16 = (unsigned)(bmm >> (16 * bmq)) & 0xffffu;
            if (!bmm16)
                continue;
            const int64_t bmc0 = bmc;
            bmc = BM_(bm_emit16)(bmm16, bmi + 16 * bmq, bmidx, bmc);
            if (sizeof(real) == 4) {
                const __m512i bmu = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(bmx + bmi + 16 * bmq)));
                _mm512_storeu_ps((void *)(bmval + bmc0), _mm512_maskz_compress_ps((__mmask16)bmm16,
                                 _mm512_cvtepu32_ps(bmu)));
            } else {
                for (int64_t bmj = bmc0; bmj < bmc; bmj++)
                    bmval[bmj] = (real)bmx[bmidx[bmj]];
            }
        }
    }
#endif
    for (; bmi + 32 <= bmNI; bmi += 32) {
        uint64_t bmm;
#if defined(__AVX2__)
        const __m256i bmv = _mm256_loadu_si256((const __m256i *)(bmx + bmi));
        bmm = ~(uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bmv, _mm256_setzero_si256())) & 0xffffffffu;
#else
        uint64_t bmw[4];
        memcpy(bmw, bmx + bmi, sizeof bmw);
        if (!(bmw[0] | bmw[1] | bmw[2] | bmw[3]))
            continue;
        bmm = 0;
        for (int bmj = 0; bmj < 32; bmj++)
            bmm |= (uint64_t)(bmx[bmi + bmj] != 0) << bmj;
#endif
        for (; bmm; bmm &= bmm - 1) {
            const int64_t bmk = bmi + BM_(bm_lowest)((unsigned)(bmm & 0xffffffffu));
            bmidx[bmc] = (int32_t)bmk;
            bmval[bmc++] = (real)bmx[bmk];
        }
    }
    for (; bmi < bmNI; bmi++)
        if (bmx[bmi] != 0) {
            bmidx[bmc] = (int32_t)bmi;
            bmval[bmc++] = (real)bmx[bmi];
        }
    return bmc;
}

"""
