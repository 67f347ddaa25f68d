"""The model-independent C of the fused loop: recurrence, readouts, loss seeds, weight gradients.

Written once for ``real`` (the compute type) and included in each compute
type's section by :func:`~brianmodes.neurons.compiled_kernel.dtype_section`.
Each product follows the numpy executor's pairing of factors (``k * lam``
before ``xi_in``; ``gq * lam`` before ``r``; ...); sums over neurons use the
fixed 16-lane ``bm_dots``. Weight gradients are summed per trial in the
compute type and then per slot of trials: the small ones (W_out, xi_in, xi_out, lam,
the trainable constants) in double, W_in and a dense W in the compute type.
"""

HELPERS = r"""
/* the padding's activity (neurons Nt .. N-1, in the last block of 16) set to +0 by one store of the whole block,
   the true neurons' values unchanged (bitwise and): the vector loads of that block that follow (k, the readout,
   the next step) are forwarded from that one store (scalar stores into the block would stall them) */
static inline void BM_(bm_zero_pad)(real *restrict bmx, int64_t bmNt, int64_t bmN)
{
    if (bmNt >= bmN)
        return;
#ifdef BM_VECTOR_LANES
    if (bmN - bmNt <= 16 && bmN >= 16) {
        typedef BM_(bits) BM_(v16u) __attribute__((vector_size(16 * sizeof(real))));
        const BM_(v16u) bmiota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        const int64_t bmb = bmN - 16;
        const BM_(v16u) bmkeep = (BM_(v16u))(bmiota < (BM_(bits))(bmNt - bmb));
        BM_(v16u) bmv;
        memcpy(&bmv, bmx + bmb, sizeof bmv);
        bmv &= bmkeep;
        memcpy(bmx + bmb, &bmv, sizeof bmv);
        return;
    }
#endif
    for (int64_t bm_n = bmNt; bm_n < bmN; bm_n++)
        bmx[bm_n] = 0;
}

/* its transpose over a trial: dL/dW_in^T[i] += sum over the steps t where input i was active of x_t,i g_t
   (g = the trial's dL/dI_in per step), each input's sum in registers (bm_project), one update per input.
   The steps of each input in ascending order: from bits per input and step when the trial's inputs are all
   0/1 (spikes: no values needed), else by a counting sort of the events by input (the same sums) */
/* the bits of trial b's active steps per input (its inputs all 0/1): (NI, W) words, W = ceil(T / 64) */
static void BM_(bm_unit_bits)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b)
{
    const int64_t bmT = bmc->T, bmNI = bmc->NI, bmW = (bmT + 63) / 64;
    uint64_t *restrict bmbits = bmw->tmask;
    memset(bmbits, 0, sizeof(uint64_t) * bmNI * bmW);
    for (int64_t bm_t = 0; bm_t < bmT; bm_t++) {
        const int64_t bmslot = bmw->cur * bmT + bm_t;
        const int32_t *restrict bmai = bmw->ai + bmw->aoff[bmslot];
        const uint64_t bmbit = (uint64_t)1 << (bm_t & 63);
        uint64_t *restrict bmcol = bmbits + (bm_t >> 6);
        for (int64_t bma = 0; bma < bmw->an[bmslot]; bma++)
            bmcol[(int64_t)bmai[bma] * bmW] |= bmbit;
    }
    bmw->bits_b = bm_b;
}

/* the input drive of every step of trial b at once, its inputs all 0/1: for each input (ascending), its row of
   W_in^T (read once, from L1 after the first of its steps) added to the drive of each step where it is active.
   Each step's drive is 0 plus the rows of its active inputs in ascending order: the sum of bm_project, bitwise,
   with every row read once per trial instead of once per step (L2). drive: (T, N), the trial's dL/dI_in rows
   (free until the adjoint) */
static void BM_(bm_unit_drive)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b, real *restrict bmd)
{
    const int64_t bmT = bmc->T, bmNI = bmc->NI, bmN = bmc->N & ~(int64_t)15, bmW = (bmT + 63) / 64;
    BM_(bm_unit_bits)(bmc, bmw, bm_b);
    memset(bmd, 0, sizeof(real) * bmT * bmN);
    const uint64_t *restrict bmbits = bmw->tmask;
#ifdef BM_VECTOR_LANES
/* NV vectors of 16 neurons of the row in registers, added to each active step's drive */
#define BM_UNIT_DRIVE(NV)                                                                                    \
    for (int64_t bmi = 0; bmi < bmNI; bmi++) {                                                             \
        BM_(v16) bmv[NV];                                                                                  \
        const real *restrict bmrow = bmc->W_in_T + bmi * bmN + bmn0;                                       \
        for (int bmk = 0; bmk < NV; bmk++)                                                                 \
            bmv[bmk] = BM_(bm_load)(bmrow + 16 * bmk);                                                     \
        for (int64_t bmj = 0; bmj < bmW; bmj++)                                                            \
            for (uint64_t bmm = bmbits[bmi * bmW + bmj]; bmm; bmm &= bmm - 1) {                            \
                real *restrict bmdt = bmd + (64 * bmj + __builtin_ctzll(bmm)) * bmN + bmn0;                \
                for (int bmk = 0; bmk < NV; bmk++) {                                                       \
                    const BM_(v16) bmsum = BM_(bm_load)(bmdt + 16 * bmk) + bmv[bmk];                       \
                    memcpy(bmdt + 16 * bmk, &bmsum, sizeof bmsum);                                         \
                }                                                                                          \
            }                                                                                              \
    }
    for (int64_t bmn0 = 0; bmn0 < bmN; bmn0 += 128)
        switch ((bmN - bmn0) / 16 < 8 ? (bmN - bmn0) / 16 : 8) {
        case 1: BM_UNIT_DRIVE(1) break;
        case 2: BM_UNIT_DRIVE(2) break;
        case 3: BM_UNIT_DRIVE(3) break;
        case 4: BM_UNIT_DRIVE(4) break;
        case 5: BM_UNIT_DRIVE(5) break;
        case 6: BM_UNIT_DRIVE(6) break;
        case 7: BM_UNIT_DRIVE(7) break;
        default: BM_UNIT_DRIVE(8) break;
        }
#undef BM_UNIT_DRIVE
#else
    for (int64_t bmi = 0; bmi < bmNI; bmi++) {
        const real *restrict bmrow = bmc->W_in_T + bmi * bmN;
        for (int64_t bmj = 0; bmj < bmW; bmj++)
            for (uint64_t bmm = bmbits[bmi * bmW + bmj]; bmm; bmm &= bmm - 1) {
                real *restrict bmdt = bmd + (64 * bmj + __builtin_ctzll(bmm)) * bmN;
                for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                    bmdt[bm_n] = bmdt[bm_n] + bmrow[bm_n];
            }
    }
#endif
}

static void BM_(bm_project_grad)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, real *restrict bmGT,
                                 int64_t bm_b)
{
    const int64_t bmT = bmc->T, bmNI = bmc->NI, bmN = bmc->N & ~(int64_t)15;
    if (bmw->unit[bmw->cur]) {
        const int64_t bmW = (bmT + 63) / 64;
        uint64_t *restrict bmbits = bmw->tmask;
        if (bmw->bits_b != bm_b)  /* not left by this trial's forward steps */
            BM_(bm_unit_bits)(bmc, bmw, bm_b);
        bmw->bits_b = -1;
        int32_t *restrict bmts = bmw->tl32;
        for (int64_t bmi = 0; bmi < bmNI; bmi++) {
            int64_t bmn = 0;
            for (int64_t bmj = 0; bmj < bmW; bmj++)
                for (uint64_t bmm = bmbits[bmi * bmW + bmj]; bmm; bmm &= bmm - 1)
                    bmts[bmn++] = (int32_t)(64 * bmj + __builtin_ctzll(bmm));
            if (bmn)
                BM_(bm_project)(bmts, bmw->ones, bmn, bmw->ginall, bmGT + bmi * bmN, bmN, 1);
        }
        return;
    }
    int64_t *restrict bmstart = bmw->evs;
    memset(bmstart, 0, sizeof(int64_t) * (bmNI + 2));
    for (int64_t bm_t = 0; bm_t < bmT; bm_t++) {  /* counting sort of the events by input */
        const int64_t bmslot = bmw->cur * bmT + bm_t;
        const int32_t *restrict bmai = bmw->ai + bmw->aoff[bmslot];
        for (int64_t bma = 0; bma < bmw->an[bmslot]; bma++)
            bmstart[bmai[bma] + 2]++;
    }
    for (int64_t bmi = 0; bmi < bmNI; bmi++)
        bmstart[bmi + 2] += bmstart[bmi + 1];
    for (int64_t bm_t = 0; bm_t < bmT; bm_t++) {
        const int64_t bmslot = bmw->cur * bmT + bm_t;
        const int32_t *restrict bmai = bmw->ai + bmw->aoff[bmslot];
        const real *restrict bmav = bmw->av + bmw->aoff[bmslot];
        for (int64_t bma = 0; bma < bmw->an[bmslot]; bma++) {
            const int64_t bmpos = bmstart[bmai[bma] + 1]++;
            bmw->evt[bmpos] = (int32_t)bm_t;
            bmw->evv[bmpos] = bmav[bma];
        }
    }
    for (int64_t bmi = 0; bmi < bmNI; bmi++) {  /* bmstart[i] .. bmstart[i+1]: input i's steps, in order */
        const int64_t bmc0 = bmstart[bmi], bmcn = bmstart[bmi + 1] - bmc0;
        if (bmcn)
            BM_(bm_project)(bmw->evt + bmc0, bmw->evv + bmc0, bmcn, bmw->ginall, bmGT + bmi * bmN, bmN, 1);
    }
}

/* I_rec of step t from the activity r of step t-1: xi_in (lam * k), k = xi_out^T r (bm_after_step), or W r */
static void BM_(bm_recurrence)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, const real *restrict bmr,
                               real *restrict bmkt, int64_t bm_t)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmP = bmc->P;
    real *restrict bmrec = bmw->rec;
    if (bm_t == 0 || (bmc->modes && bmP == 0)) {
        memset(bmrec, 0, sizeof(real) * bmN);
        for (int64_t bmp = 0; bmp < bmP; bmp++)
            bmkt[bmp] = 0;
        return;
    }
    if (bmc->modes) {
        for (int64_t bmp = 0; bmp < bmP; bmp++) {
            bmkt[bmp] = bmw->kn[bmp];
            bmw->lk[bmp] = bmkt[bmp] * bmc->lam[bmp];
        }
        const real *restrict bmx0 = bmc->xi_in_T;
        const real bml0 = bmw->lk[0];
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmrec[bm_n] = bml0 * bmx0[bm_n];
        for (int64_t bmp = 1; bmp < bmP; bmp++) {
            const real *restrict bmxp = bmc->xi_in_T + bmp * bmN;
            const real bmlp = bmw->lk[bmp];
            for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                bmrec[bm_n] += bmlp * bmxp[bm_n];
        }
        return;
    }
    memset(bmrec, 0, sizeof(real) * bmN);
    for (int64_t bmm = 0; bmm < bmN; bmm++) {
        const real bmrm = bmr[bmm];
        if (bmrm == 0)
            continue;
        const real *restrict bmrow = bmc->W_T + bmm * bmN;
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmrec[bm_n] += bmrm * bmrow[bm_n];
    }
}

/* after step t: k[t+1] = xi_out^T r[t] and the readout y[t] = W_out r[t] (one pass when both are wanted),
   the seed mask * (y - target), or the running max of the max readout */
static void BM_(bm_after_step)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, const real *restrict bmr,
                               real *restrict bmamax, int32_t *restrict bmargmax, int64_t bm_t, int64_t bm_b)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmK = bmc->K, bmP = bmc->P;
    const int64_t bmo = (bm_t * bmc->B + bm_b) * bmK;
    real *restrict bmkn = bmw->kn;
    if (bmc->modes && bmc->per_step && bmc->W_out == bmc->xi_out_T + bmP * bmN) {
        BM_(bm_dots)(bmr, bmc->xi_out_T, bmN, bmP + bmK, bmN, bmkn);
        memcpy(bmc->y + bmo, bmkn + bmP, sizeof(real) * bmK);
    } else {
        if (bmc->modes)
            BM_(bm_dots)(bmr, bmc->xi_out_T, bmN, bmP, bmN, bmkn);
        if (bmc->per_step)
            BM_(bm_dots)(bmr, bmc->W_out, bmN, bmK, bmN, bmc->y + bmo);
    }
    if (bmc->per_step) {
        real *restrict bmy = bmc->y + bmo;
        if (bmc->seed == 1)
            for (int64_t bmk = 0; bmk < bmK; bmk++) {
                real bme = bmy[bmk] - bmc->target[bmo + bmk];
                if (bmc->tmask)
                    bme = bme * bmc->tmask[bmo + bmk];
                bmc->gy[bmo + bmk] = bme;
            }
        return;
    }
    for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
        if (bmr[bm_n] > bmamax[bm_n]) {
            bmamax[bm_n] = bmr[bm_n];
            bmargmax[bm_n] = (int32_t)bm_t;
        }
}

/* the max readout at the end of a trial, y = W_out max_t r, and the seed softmax(y) - onehot */
static void BM_(bm_readout_end)(const struct BM_(ctx) *bmc, const real *restrict bmamax, int64_t bm_b)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmK = bmc->K;
    if (bmc->per_step)
        return;
    real *restrict bmy = bmc->y + bm_b * bmK;
    BM_(bm_dots)(bmamax, bmc->W_out, bmN, bmK, bmN, bmy);
    if (bmc->seed != 2)
        return;
    real *restrict bmg = bmc->gy + bm_b * bmK;
    real bmmax = bmy[0], bmsum = 0;
    for (int64_t bmk = 1; bmk < bmK; bmk++)
        if (bmy[bmk] > bmmax)
            bmmax = bmy[bmk];
    for (int64_t bmk = 0; bmk < bmK; bmk++) {
        bmg[bmk] = @EXP@(bmy[bmk] - bmmax);
        bmsum += bmg[bmk];
    }
    for (int64_t bmk = 0; bmk < bmK; bmk++)
        bmg[bmk] = bmg[bmk] / bmsum;
    bmg[bmc->labels[bm_b]] -= 1;
}

/* max readout: dL/d(max_t r) = W_out^T dL/dy, given to the step of each neuron's maximum */
static void BM_(bm_direct_init)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmK = bmc->K;
    if (bmc->per_step)
        return;
    const real *restrict bmg = bmc->gy + bm_b * bmK;
    real *restrict bmga = bmw->ga;
    for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
        bmga[bm_n] = bmg[0] * bmc->W_out[bm_n];
    for (int64_t bmk = 1; bmk < bmK; bmk++)
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmga[bm_n] += bmg[bmk] * bmc->W_out[bmk * bmN + bm_n];
}

/* dL/dr[t] from the readout */
static void BM_(bm_direct)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b, int64_t bm_t)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmK = bmc->K;
    real *restrict bmd = bmw->direct;
    if (!bmc->per_step) {
        const int32_t *restrict bmam = bmc->argmax + bm_b * bmN;
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmd[bm_n] = bmam[bm_n] == bm_t ? bmw->ga[bm_n] : 0;
        return;
    }
    const real *restrict bmg = bmc->gy + (bm_t * bmc->B + bm_b) * bmK;
    for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
        bmd[bm_n] = bmg[0] * bmc->W_out[bm_n];
    for (int64_t bmk = 1; bmk < bmK; bmk++)
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmd[bm_n] += bmg[bmk] * bmc->W_out[bmk * bmN + bm_n];
}

/* the weight gradients of step t (summed over the trial in the compute type), and W^T g_rec[t] */
static void BM_(bm_weight_grads)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b, int64_t bm_t,
                                 const real *restrict bmrt, const real *restrict bmrp, const real *restrict bmkt)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmP = bmc->P, bmK = bmc->K, bmNI = bmc->NI;
    const real *restrict bmgrec = bmw->grec;
    real *restrict bmgWout = bmw->acc, *restrict bmgxin = bmgWout + bmK * bmN;
    real *restrict bmgxout = bmgxin + bmP * bmN, *restrict bmglam = bmgxout + bmP * bmN;
    real *restrict bmgWin = bmw->gr, *restrict bmgW = bmgWin + bmNI * bmN;
    real *restrict bmrecg = bmw->recg, *restrict bmgq = bmw->gq, *restrict bmgl = bmw->lk;
    (void)bm_b; (void)bmgWin;  /* W_in: at the end of the trial (bm_project_grad) */
    if (bmc->modes && bmP > 0) {
        BM_(bm_dots)(bmgrec, bmc->xi_in_T, bmN, bmP, bmN, bmgq);
        for (int64_t bmp = 0; bmp < bmP; bmp++)
            bmglam[bmp] += bmgq[bmp] * bmkt[bmp];
        /* dL/dxi_in += g_rec[t] (k lam) and dL/dxi_out += r[t-1] (gq lam): their factors kept per step and the
           sums made at the end of the trial (bm_deferred_grads) */
        real *restrict bmlkt = bmw->lkall + bm_t * bmP, *restrict bmglt = bmw->glall + bm_t * bmP;
        for (int64_t bmp = 0; bmp < bmP; bmp++)
            bmlkt[bmp] = bmkt[bmp] * bmc->lam[bmp];
        if (bm_t > 0) {
            for (int64_t bmp = 0; bmp < bmP; bmp++)
                bmgl[bmp] = bmglt[bmp] = bmgq[bmp] * bmc->lam[bmp];
#ifdef BM_VECTOR_LANES
            for (int64_t bm_n = 0; bm_n < bmN; bm_n += 16) {  /* recg = xi_out gl, 16 neurons at a time */
                BM_(v16) bmrg = bmgl[0] * BM_(bm_load)(bmc->xi_out_T + bm_n);
                for (int64_t bmp = 1; bmp < bmP; bmp++)
                    bmrg += bmgl[bmp] * BM_(bm_load)(bmc->xi_out_T + bmp * bmN + bm_n);
                memcpy(bmrecg + bm_n, &bmrg, sizeof bmrg);
            }
#else
            for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                bmrecg[bm_n] = bmgl[0] * bmc->xi_out_T[bm_n];
            for (int64_t bmp = 1; bmp < bmP; bmp++) {
                const real *restrict bmxp = bmc->xi_out_T + bmp * bmN;
                for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                    bmrecg[bm_n] += bmgl[bmp] * bmxp[bm_n];
            }
#endif
        }
    } else if (!bmc->modes && bm_t > 0) {
        memset(bmrecg, 0, sizeof(real) * bmN);
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++) {
            const real bmgn = bmgrec[bm_n];
            if (bmgn == 0)
                continue;
            real *restrict bmrow = bmgW + bm_n * bmN;
            const real *restrict bmWrow = bmc->W + bm_n * bmN;
            for (int64_t bmm = 0; bmm < bmN; bmm++) {
                bmrow[bmm] += bmgn * bmrp[bmm];
                bmrecg[bmm] += bmgn * bmWrow[bmm];
            }
        }
    }
    (void)bmrt; (void)bmgxin; (void)bmgxout; (void)bmgWout; (void)bmK;  /* W_out: bm_deferred_grads */
}

/* rows[j] += sum over i = n-1 .. 0 (descending: the adjoint's order) of X[i] c[i][j] for j < R, 16 neurons of 4
   rows in registers at a time (row stride N, X's stride xs, c's stride cs); skip0: terms with c = 0 left out */
static void BM_(bm_accumulate)(real *restrict bmrows, int64_t bmR, const real *restrict bmc, int64_t bmcs,
                               const real *restrict bmX, int64_t bmxs, int64_t bmn, int bmskip0, int64_t bmN)
{
    for (int64_t bmr0 = 0; bmr0 < bmR; bmr0 += 4) {
        const int64_t bmnr = bmR - bmr0 < 4 ? bmR - bmr0 : 4;
#ifdef BM_VECTOR_LANES
/* NR rows of NB blocks of 16 neurons (constants): NR * NB independent sums in registers, since each is a chain of
   additions over the steps */
#define BM_ACCUMULATE(NR, NB)                                                                                \
        {                                                                                                  \
            BM_(v16) bma[NR][NB];                                                                          \
            for (int bmj = 0; bmj < NR; bmj++)                                                             \
                for (int bmk = 0; bmk < NB; bmk++)                                                         \
                    bma[bmj][bmk] = BM_(bm_load)(bmrows + (bmr0 + bmj) * bmN + bm_n + 16 * bmk);           \
            for (int64_t bmi = bmn - 1; bmi >= 0; bmi--) {                                                 \
                BM_(v16) bmx[NB];                                                                          \
                for (int bmk = 0; bmk < NB; bmk++)                                                         \
                    bmx[bmk] = BM_(bm_load)(bmX + bmi * bmxs + bm_n + 16 * bmk);                           \
                const real *restrict bmci = bmc + bmi * bmcs + bmr0;                                       \
                for (int bmj = 0; bmj < NR; bmj++)                                                         \
                    if (!bmskip0 || bmci[bmj] != 0)                                                        \
                        for (int bmk = 0; bmk < NB; bmk++)                                                 \
                            bma[bmj][bmk] += bmx[bmk] * bmci[bmj];                                         \
            }                                                                                              \
            for (int bmj = 0; bmj < NR; bmj++)                                                             \
                for (int bmk = 0; bmk < NB; bmk++)                                                         \
                    memcpy(bmrows + (bmr0 + bmj) * bmN + bm_n + 16 * bmk, &bma[bmj][bmk], sizeof(BM_(v16))); \
        }
#define BM_ACCUMULATE_ROWS(NB)                                                                               \
        switch (bmnr) {                                                                                    \
        case 1: BM_ACCUMULATE(1, NB) break;                                                                \
        case 2: BM_ACCUMULATE(2, NB) break;                                                                \
        case 3: BM_ACCUMULATE(3, NB) break;                                                                \
        default: BM_ACCUMULATE(4, NB) break;                                                               \
        }
        for (int64_t bm_n = 0; bm_n < bmN;) {
            const int64_t bmnb = (bmN - bm_n) / 16 < 4 ? (bmN - bm_n) / 16 : 4;
            switch (bmnb) {
            case 1: BM_ACCUMULATE_ROWS(1) break;
            case 2: BM_ACCUMULATE_ROWS(2) break;
            case 3: BM_ACCUMULATE_ROWS(3) break;
            default: BM_ACCUMULATE_ROWS(4) break;
            }
            bm_n += 16 * bmnb;
        }
#undef BM_ACCUMULATE_ROWS
#undef BM_ACCUMULATE
#else
        for (int64_t bmj = 0; bmj < bmnr; bmj++)
            for (int64_t bmi = bmn - 1; bmi >= 0; bmi--) {
                const real bmcij = bmc[bmi * bmcs + bmr0 + bmj];
                real *restrict bmrow = bmrows + (bmr0 + bmj) * bmN;
                if (!bmskip0 || bmcij != 0)
                    for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                        bmrow[bm_n] += bmX[bmi * bmxs + bm_n] * bmcij;
            }
#endif
    }
}

/* after a trial's adjoint steps: dL/dxi_in, dL/dxi_out and the per-step readout's dL/dW_out from the factors and
   rows kept per step (g_rec, k lam, gq lam; r from the tape: rt, its stride rs), each in the order of the steps */
static void BM_(bm_deferred_grads)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b,
                                   const real *restrict bmrt, int64_t bmrs)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmP = bmc->P, bmK = bmc->K, bmT = bmc->T;
    real *restrict bmgWout = bmw->acc, *restrict bmgxin = bmgWout + bmK * bmN, *restrict bmgxout = bmgxin + bmP * bmN;
    if (bmc->modes && bmP > 0) {
        BM_(bm_accumulate)(bmgxin, bmP, bmw->lkall, bmP, bmw->grecall, bmN, bmT, 0, bmN);
        BM_(bm_accumulate)(bmgxout, bmP, bmw->glall + bmP, bmP, bmrt, bmrs, bmT - 1, 0, bmN);
    }
    if (bmc->per_step)
        BM_(bm_accumulate)(bmgWout, bmK, bmc->gy + bm_b * bmK, bmc->B * bmK, bmrt, bmrs, bmT, 1, bmN);
}

/* few inputs (NI <= BM_FEW_INPUTS: their rows of dL/dW_in^T stay in L1): each step's x_t,i g_t added to the slot's
   row of every active input i (bm_prescan's lists) during the adjoint steps, instead of once per trial */
#define BM_FEW_INPUTS 32
static void BM_(bm_scatter_grad)(const int32_t *restrict bmidx, const real *restrict bmval, int64_t bmcount,
                                 const real *restrict bmg, real *restrict bmGT, int64_t bmN)
{
    for (int64_t bma = 0; bma < bmcount; bma++) {
        real *restrict bmrow = bmGT + (int64_t)bmidx[bma] * bmN;
        const real bmv = bmval[bma];
#ifdef BM_VECTOR_LANES
        for (int64_t bm_n = 0; bm_n < bmN; bm_n += 16) {  /* whole vectors: no prologue or tail per row */
            const BM_(v16) bmsum = BM_(bm_load)(bmrow + bm_n) + bmv * BM_(bm_load)(bmg + bm_n);
            memcpy(bmrow + bm_n, &bmsum, sizeof bmsum);
        }
#else
        for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
            bmrow[bm_n] += bmv * bmg[bm_n];
#endif
    }
}

/* end of a trial's adjoint: the max readout's dL/dW_out, and the trial's sums added to its slot's (double) */
static void BM_(bm_trial_grads)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmK = bmc->K;
    real *restrict bmacc = bmw->acc;
    double *restrict bmsum = bmw->g64;
    if (!bmc->per_step) {
        const real *restrict bmg = bmc->gy + bm_b * bmK, *restrict bmamax = bmc->amax + bm_b * bmN;
        for (int64_t bmk = 0; bmk < bmK; bmk++)
            for (int64_t bm_n = 0; bm_n < bmN; bm_n++)
                bmacc[bmk * bmN + bm_n] += bmg[bmk] * bmamax[bm_n];
    }
    for (int64_t bmi = 0; bmi < bmc->L64; bmi++)
        bmsum[bmi] += (double)bmacc[bmi];
    if (bmc->NI > BM_FEW_INPUTS)
        BM_(bm_project_grad)(bmc, bmw, bmw->gr, bm_b);
}
"""
