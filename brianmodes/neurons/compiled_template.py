"""The C template of one compute type of the compiled loop (filled by :mod:`~brianmodes.neurons.compiled_kernel`).

Placeholders ``@NAME@`` are replaced by generated code: the compute type and
its suffix, the hoisted constants, the forward step (plain and recording), the
adjoint pass, the sizes of the tape, and the input scan and projection of
:mod:`~brianmodes.neurons.compiled_inputs`. Every identifier of the template
starts with ``bm``; model symbols never do (see ``compiled_printer.c_name``).
The template is kept as a Python string so that it travels with the package.
"""

TEMPLATE = r"""/* ---- one compute type: @CTYPE@ ------------------------------------------------------------ */
/* N is the neuron count padded to a multiple of 16 (every array's stride); Nt the true count. The padding has
   zero weights and its activity is set to 0 after each step, so every sum is the sum over the true neurons. */
#define real @CTYPE@
#define BM_(name) name##@SUF@

static inline real BM_(bm_sq)(real bma) { return bma * bma; }
static inline real BM_(bm_exprel)(real bma) { return bma == 0 ? (real)1 : @EXPM1@(bma) / bma; }
#define bm_sq BM_(bm_sq)
#define bm_exprel BM_(bm_exprel)

/* out[p] = sum_n x[n] M[p*s + n] for p < P, four rows per pass, each in 16 fixed lanes (lane j sums the
   neurons n = j mod 16 in order, then the lanes are summed in a fixed tree): vectorised, independent chains,
   and the same sum wherever it runs (the compiler never reassociates). n is a multiple of 16. */
#if defined(__has_builtin) && !defined(BM_NO_VECTOR_LANES)  /* -DBM_NO_VECTOR_LANES: the plain C below */
#if __has_builtin(__builtin_shufflevector)
#define BM_VECTOR_LANES 1
#endif
#endif
#ifdef BM_VECTOR_LANES
typedef real BM_(v16) __attribute__((vector_size(16 * sizeof(real))));
typedef real BM_(v8) __attribute__((vector_size(8 * sizeof(real))));
typedef real BM_(v4) __attribute__((vector_size(4 * sizeof(real))));
typedef real BM_(v2) __attribute__((vector_size(2 * sizeof(real))));

static inline real BM_(bm_lanes)(BM_(v16) bma)
{
    const BM_(v8) bmh = __builtin_shufflevector(bma, bma, 0, 1, 2, 3, 4, 5, 6, 7)
                      + __builtin_shufflevector(bma, bma, 8, 9, 10, 11, 12, 13, 14, 15);
    const BM_(v4) bmq = __builtin_shufflevector(bmh, bmh, 0, 1, 2, 3) + __builtin_shufflevector(bmh, bmh, 4, 5, 6, 7);
    const BM_(v2) bmd = __builtin_shufflevector(bmq, bmq, 0, 1) + __builtin_shufflevector(bmq, bmq, 2, 3);
    return bmd[0] + bmd[1];
}

static inline BM_(v16) BM_(bm_load)(const real *bmp)
{
    BM_(v16) bmv;
    memcpy(&bmv, bmp, sizeof bmv);
    return bmv;
}

static void BM_(bm_dots)(const real *restrict bmx, const real *restrict bmM, int64_t bms, int64_t bmP,
                         int64_t bmn, real *restrict bmout)
{
    int64_t bmp0 = 0;
    for (; bmp0 + 4 <= bmP; bmp0 += 4) {
        const real *restrict bmr = bmM + bmp0 * bms;
        BM_(v16) bma0 = {0}, bma1 = {0}, bma2 = {0}, bma3 = {0};
        for (int64_t bmi = 0; bmi < bmn; bmi += 16) {
            const BM_(v16) bmxv = BM_(bm_load)(bmx + bmi);
            bma0 += bmxv * BM_(bm_load)(bmr + bmi);
            bma1 += bmxv * BM_(bm_load)(bmr + bms + bmi);
            bma2 += bmxv * BM_(bm_load)(bmr + 2 * bms + bmi);
            bma3 += bmxv * BM_(bm_load)(bmr + 3 * bms + bmi);
        }
        bmout[bmp0] = BM_(bm_lanes)(bma0);
        bmout[bmp0 + 1] = BM_(bm_lanes)(bma1);
        bmout[bmp0 + 2] = BM_(bm_lanes)(bma2);
        bmout[bmp0 + 3] = BM_(bm_lanes)(bma3);
    }
    if (bmP - bmp0 == 3) {  /* the last rows in one pass too (independent chains; each row's sum as above) */
        const real *restrict bmr = bmM + bmp0 * bms;
        BM_(v16) bma0 = {0}, bma1 = {0}, bma2 = {0};
        for (int64_t bmi = 0; bmi < bmn; bmi += 16) {
            const BM_(v16) bmxv = BM_(bm_load)(bmx + bmi);
            bma0 += bmxv * BM_(bm_load)(bmr + bmi);
            bma1 += bmxv * BM_(bm_load)(bmr + bms + bmi);
            bma2 += bmxv * BM_(bm_load)(bmr + 2 * bms + bmi);
        }
        bmout[bmp0] = BM_(bm_lanes)(bma0);
        bmout[bmp0 + 1] = BM_(bm_lanes)(bma1);
        bmout[bmp0 + 2] = BM_(bm_lanes)(bma2);
        return;
    }
    if (bmP - bmp0 == 2) {
        const real *restrict bmr = bmM + bmp0 * bms;
        BM_(v16) bma0 = {0}, bma1 = {0};
        for (int64_t bmi = 0; bmi < bmn; bmi += 16) {
            const BM_(v16) bmxv = BM_(bm_load)(bmx + bmi);
            bma0 += bmxv * BM_(bm_load)(bmr + bmi);
            bma1 += bmxv * BM_(bm_load)(bmr + bms + bmi);
        }
        bmout[bmp0] = BM_(bm_lanes)(bma0);
        bmout[bmp0 + 1] = BM_(bm_lanes)(bma1);
        return;
    }
    for (; bmp0 < bmP; bmp0++) {
        const real *restrict bmr = bmM + bmp0 * bms;
        BM_(v16) bma = {0};
        for (int64_t bmi = 0; bmi < bmn; bmi += 16)
            bma += BM_(bm_load)(bmx + bmi) * BM_(bm_load)(bmr + bmi);
        bmout[bmp0] = BM_(bm_lanes)(bma);
    }
}
#else
static void BM_(bm_dots)(const real *restrict bmx, const real *restrict bmM, int64_t bms, int64_t bmP,
                         int64_t bmn, real *restrict bmout)
{
    for (int64_t bmp = 0; bmp < bmP; bmp++) {
        const real *restrict bmr = bmM + bmp * bms;
        real bma[16] = {0};
        for (int64_t bmi = 0; bmi < bmn; bmi += 16)
            for (int bmj = 0; bmj < 16; bmj++)
                bma[bmj] += bmx[bmi + bmj] * bmr[bmi + bmj];
        for (int bmj = 0; bmj < 8; bmj++)
            bma[bmj] += bma[bmj + 8];
        for (int bmj = 0; bmj < 4; bmj++)
            bma[bmj] += bma[bmj + 4];
        for (int bmj = 0; bmj < 2; bmj++)
            bma[bmj] += bma[bmj + 2];
        bmout[bmp] = bma[0] + bma[1];
    }
}
#endif

static real BM_(bm_dot)(const real *restrict bma, const real *restrict bmb, int64_t bmn)
{
    real bmout;
    BM_(bm_dots)(bma, bmb, 0, 1, bmn, &bmout);
    return bmout;
}

@INPUTS@

/* the hoisted constants, once per run: in double, then rounded to the compute type */
static void BM_(bm_constants)(const double *restrict bmpar, real *restrict bmC, int64_t bmN, double dt)
{
    {
        const int64_t bm_n = 0;
@CONST_PARAMS@
@CONST_SCALAR@
    }
    for (int64_t bm_n = 0; bm_n < bmN; bm_n++) {
@CONST_PARAMS@
@CONST_VECTOR@
    }
}

struct BM_(ctx) {
    int64_t T, B, N, Nt, NI, P, K, modes, per_step, tape_mode, seed, sur, n_ref, nr, nu, L64, Lr, G, x_u8, S;
    double dt, t_ref;
    real slope, half_slope;
    const void *x;  /* (T, B, NI): real, or bytes when x_u8 */
    const real *W_in_T, *xi_in_T, *xi_out_T, *lam, *W, *W_T, *W_out, *C, *target, *tmask, *ds;
    const int64_t *labels;
    real *y, *amax, *tape_r, *tape_k, *gy, *ktrace, *gr;
    uint8_t *tape_u;
    int32_t *count, *argmax;
    double *g64, *g64o, *gro;  /* the slots' sums (S rows), their sums over the slots (outputs) */
    void **records;
};

struct BM_(work) {
    real *st, *gst, *drive, *rec, *direct, *gin, *grec, *recg, *ga, *zero, *sg, *lk, *gq, *zr, *tr, *tk, *acc, *kn;
    uint8_t *zu, *tu;
    int32_t *last, *ai, *an;
    int bad;  /* a non-finite input was seen */
    int64_t bits_b;  /* the trial whose bits are in tmask (bm_unit_bits), else -1 */
    int64_t *aoff, cur;  /* the active inputs of the group's trials: slot g*T + t starts at aoff[slot] */
    real *ginall, *evv, *ones;  /* the trial's dL/dI_in per step; its events sorted by input (the W_in gradient) */
    real *grecall, *lkall, *glall;  /* the trial's g_rec, k lam and gq lam per step (bm_deferred_grads) */
    int32_t *evt, *tl32, *unit;  /* tl32: one input's active steps; unit: the group's trials whose inputs are 0/1 */
    int64_t *evs;
    uint64_t *tmask;  /* (NI, W) bits: the steps where each input was active (W = ceil(T / 64) words) */
    float *tl;
    real *av;
    double *g64;
    real *gr;
};

static size_t BM_(bm_round64)(size_t bmn) { return (bmn + 63) & ~(size_t)63; }

static BM_TLS char *BM_(bm_block) = NULL;
static BM_TLS size_t BM_(bm_block_size) = 0;

/* free every thread's kept block (the same threads as the runs: OpenMP's pool) */
void BM_(bm_release)(int bmthreads)
{
#ifdef _OPENMP
#pragma omp parallel num_threads(bmthreads < 1 ? 1 : bmthreads)
#endif
    {
        free(BM_(bm_block));
        BM_(bm_block) = NULL;
        BM_(bm_block_size) = 0;
    }
    (void)bmthreads;
}

/* one block per thread: states, adjoints, the trial's tape (fused) or one step of it */
static void *BM_(bm_alloc)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int bmtid)
{
    const int64_t bmN = bmc->N & ~(int64_t)15, bmP = bmc->P, bmsteps = bmc->tape_mode == 1 ? bmc->T : 2;
    real **bmreals[] = {&bmw->st, &bmw->gst, &bmw->drive, &bmw->rec, &bmw->direct, &bmw->gin, &bmw->grec,
                        &bmw->recg, &bmw->ga, &bmw->zero, &bmw->sg, &bmw->lk, &bmw->gq, &bmw->zr, &bmw->tr,
                        &bmw->tk, &bmw->acc, &bmw->kn, &bmw->grecall, &bmw->lkall, &bmw->glall};
    const size_t bmcount[] = {@NS@ * bmN, @NS@ * bmN, bmN, bmN, bmN, bmN, bmN, bmN, bmN, bmN, (@NSG@ + 1) * bmN,
                              bmP + 1, bmP + 1, (bmc->nr + 1) * bmN, bmsteps * (bmc->nr + 1) * bmN,
                              bmsteps * (bmP + 1), bmc->L64 + 1, bmP + bmc->K + 1, bmc->T * bmN + 1,
                              bmc->T * bmP + 1, bmc->T * bmP + 1};
    size_t bmtotal = 0;
    for (int bmi = 0; bmi < 21; bmi++)
        bmtotal += BM_(bm_round64)(sizeof(real) * bmcount[bmi]);
    bmtotal += 2 * BM_(bm_round64)(bmsteps * (bmc->nu + 1) * bmN) + BM_(bm_round64)(4 * bmN) * 2;
    const int64_t bmslots = bmc->G * bmc->T, bmcap = bmslots * bmc->NI + 17;  /* 16 of slack (bm_emit16) */
    const int64_t bmwords = (bmc->T + 63) / 64;
    bmtotal += BM_(bm_round64)(4 * bmcap) + BM_(bm_round64)(sizeof(real) * bmcap) + BM_(bm_round64)(4 * bmslots)
             + BM_(bm_round64)(8 * bmslots) + BM_(bm_round64)(sizeof(real) * bmc->T * bmN)
             + BM_(bm_round64)(sizeof(real) * (bmc->T * bmc->NI + 1)) + BM_(bm_round64)(4 * (bmc->T * bmc->NI + 1))
             + BM_(bm_round64)(8 * (bmc->NI + 2)) + BM_(bm_round64)(8 * (bmc->NI * bmwords + 1))
             + BM_(bm_round64)(4 * (bmc->T + 1)) + BM_(bm_round64)(4 * (bmc->G + 1))
             + BM_(bm_round64)(sizeof(real) * (bmc->T + 1));
    /* the thread's block is kept between calls (fresh pages would fault, and the threads' faults serialise on
       the address space's lock); bm_release frees it */
    if (BM_(bm_block_size) < bmtotal + 64) {
        free(BM_(bm_block));
        BM_(bm_block) = malloc(bmtotal + 64);
        BM_(bm_block_size) = BM_(bm_block) ? bmtotal + 64 : 0;
    }
    char *bmmem = BM_(bm_block);
    if (!bmmem)
        return NULL;
    char *bmp = (char *)(((uintptr_t)bmmem + 63) & ~(uintptr_t)63);
    for (int bmi = 0; bmi < 21; bmi++) {
        *bmreals[bmi] = (real *)bmp;
        bmp += BM_(bm_round64)(sizeof(real) * bmcount[bmi]);
    }
    bmw->zu = (uint8_t *)bmp;
    bmp += BM_(bm_round64)(bmsteps * (bmc->nu + 1) * bmN);
    bmw->tu = (uint8_t *)bmp;
    bmp += BM_(bm_round64)(bmsteps * (bmc->nu + 1) * bmN);
    bmw->last = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * bmN);
    bmw->tl = (float *)bmp;
    bmp += BM_(bm_round64)(4 * bmN);
    bmw->ai = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * bmcap);
    bmw->av = (real *)bmp;
    bmp += BM_(bm_round64)(sizeof(real) * bmcap);
    bmw->an = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * bmslots);
    bmw->aoff = (int64_t *)bmp;
    bmp += BM_(bm_round64)(8 * bmslots);
    bmw->ginall = (real *)bmp;
    bmp += BM_(bm_round64)(sizeof(real) * bmc->T * bmN);
    bmw->evv = (real *)bmp;
    bmp += BM_(bm_round64)(sizeof(real) * (bmc->T * bmc->NI + 1));
    bmw->evt = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * (bmc->T * bmc->NI + 1));
    bmw->evs = (int64_t *)bmp;
    bmp += BM_(bm_round64)(8 * (bmc->NI + 2));
    bmw->tmask = (uint64_t *)bmp;
    bmp += BM_(bm_round64)(8 * (bmc->NI * bmwords + 1));
    bmw->tl32 = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * (bmc->T + 1));
    bmw->unit = (int32_t *)bmp;
    bmp += BM_(bm_round64)(4 * (bmc->G + 1));
    bmw->ones = (real *)bmp;
    for (int64_t bm_t = 0; bm_t < bmc->T; bm_t++)
        bmw->ones[bm_t] = 1;
    bmw->cur = 0;
    bmw->bad = 0;
    bmw->bits_b = -1;
    memset(bmw->zero, 0, sizeof(real) * bmN);  /* the arrays read as zeros */
    memset(bmw->zr, 0, sizeof(real) * (bmc->nr + 1) * bmN);
    memset(bmw->zu, 0, bmsteps * (bmc->nu + 1) * bmN);
    memset(bmw->drive, 0, sizeof(real) * bmN);
    memset(bmw->rec, 0, sizeof(real) * bmN);
    memset(bmw->recg, 0, sizeof(real) * bmN);
    bmw->g64 = NULL;  /* the slot's rows, set per slot */
    bmw->gr = NULL;
    (void)bmtid;
    return bmmem;
}

/* the tape of trial b: the global tape, the thread's whole-trial tape, or one step reused */
static int64_t BM_(bm_tape)(const struct BM_(ctx) *bmc, const struct BM_(work) *bmw, int64_t bm_b, real **bmtr,
                            uint8_t **bmtu, real **bmtk)
{
    if (bmc->tape_mode == 2) {
        *bmtr = bmc->tape_r + bm_b * bmc->T * bmc->nr * bmc->N;
        *bmtu = bmc->tape_u + bm_b * bmc->T * bmc->nu * bmc->N;
        *bmtk = bmc->tape_k + bm_b * bmc->T * bmc->P;
        return 1;
    }
    *bmtr = bmw->tr;
    *bmtu = bmw->tu;
    *bmtk = bmw->tk;
    return bmc->tape_mode == 1;
}

/* the active inputs of trials b0 .. b0+G-1 at every step, scanned in memory order (time-major: the rows of
   the group's trials at one step are contiguous), before the per-trial loops read them */
static void BM_(bm_prescan)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bmb0, int64_t bmg1)
{
    int64_t bmoff = 0;
    for (int64_t bmg = 0; bmg < bmg1; bmg++)
        bmw->unit[bmg] = 1;
    /* the group's rows of step t + 4 asked for ahead (one step's rows are apart from the next's: B rows) */
    const int64_t bmesz = bmc->x_u8 ? 1 : (int64_t)sizeof(real), bmspan = bmg1 * bmc->NI * bmesz;
    for (int64_t bm_t = 0; bm_t < bmc->T; bm_t++) {
        const char *bmahead = (const char *)bmc->x + ((bm_t + 4) * bmc->B + bmb0) * bmc->NI * bmesz;
        for (int64_t bmo = 0; bm_t + 4 < bmc->T && bmo < bmspan && bmo < 1024; bmo += 64)
            __builtin_prefetch(bmahead + bmo);  /* (an address only: nothing is read beyond the inputs) */
        for (int64_t bmg = 0; bmg < bmg1; bmg++) {
            const int64_t bmslot = bmg * bmc->T + bm_t;
            const int64_t bmrow = (bm_t * bmc->B + bmb0 + bmg) * bmc->NI;
            const int64_t bmna = bmc->x_u8
                ? BM_(bm_active_u8)((const uint8_t *)bmc->x + bmrow, bmc->NI, bmw->ai + bmoff, bmw->av + bmoff)
                : BM_(bm_active)((const real *)bmc->x + bmrow, bmc->NI, bmw->ai + bmoff, bmw->av + bmoff);
            int bmbad = 0, bmnot1 = 0;  /* NaN and inf are not 0, so every one of them is in the list */
            for (int64_t bma = 0; bma < bmna; bma++) {
                bmbad |= !(bmw->av[bmoff + bma] - bmw->av[bmoff + bma] == 0);
                bmnot1 |= bmw->av[bmoff + bma] != 1;
            }
            if (bmbad)
                bmw->bad = 1;
            if (bmnot1)
                bmw->unit[bmg] = 0;
            bmw->aoff[bmslot] = bmoff;
            bmw->an[bmslot] = (int32_t)bmna;
            bmoff += bmna;
        }
    }
}

@FORWARD_PLAIN@

@FORWARD_RECORD@

@BACKWARD@

int BM_(bm_run)(void **bmptr, const int64_t *bmint, const double *bmdbl)
{
    struct BM_(ctx) bmc;
    memset(&bmc, 0, sizeof(bmc));
    bmc.T = bmint[0]; bmc.B = bmint[1]; bmc.N = bmint[2]; bmc.NI = bmint[3]; bmc.P = bmint[4]; bmc.K = bmint[5];
    bmc.modes = bmint[6]; bmc.per_step = bmint[7];
    const int64_t bmdo_fwd = bmint[8], bmdo_bwd = bmint[9];
    bmc.tape_mode = bmint[10]; bmc.seed = bmint[11]; bmc.sur = bmint[12];
    const int64_t bmthreads = bmint[13] < 1 ? 1 : bmint[13];
    bmc.n_ref = bmint[14];
    const int64_t bmrecord = bmint[15], bmftz = bmint[16];
    bmc.Nt = bmint[17];
    bmc.x_u8 = bmint[18];
    bmc.dt = bmdbl[0]; bmc.slope = (real)bmdbl[1]; bmc.half_slope = (real)(0.5 * bmdbl[1]); bmc.t_ref = bmdbl[2];
    bmc.nr = @NR@; bmc.nu = @NU@;
    bmc.x = bmptr[0]; bmc.W_in_T = bmptr[1]; bmc.xi_in_T = bmptr[2]; bmc.xi_out_T = bmptr[3]; bmc.lam = bmptr[4];
    bmc.W = bmptr[5]; bmc.W_T = bmptr[6]; bmc.W_out = bmptr[7];
    real *bmC = bmptr[9];
    bmc.C = bmC;
    bmc.y = bmptr[10]; bmc.count = bmptr[11]; bmc.amax = bmptr[12]; bmc.argmax = bmptr[13];
    bmc.tape_r = bmptr[14]; bmc.tape_u = bmptr[15]; bmc.tape_k = bmptr[16];
    bmc.gy = bmptr[17]; bmc.target = bmptr[18]; bmc.tmask = bmptr[19]; bmc.labels = bmptr[20]; bmc.ds = bmptr[21];
    bmc.g64 = bmptr[22]; bmc.gr = bmptr[23]; bmc.ktrace = bmptr[24]; bmc.records = bmptr[25];
    bmc.L64 = bmc.K * bmc.N + 2 * bmc.P * bmc.N + bmc.P + @NTC@ * bmc.N;
    bmc.Lr = bmc.NI * bmc.N + (bmc.modes ? 0 : bmc.N * bmc.N);
    BM_(bm_constants)((const double *)bmptr[8], bmC, bmc.N, bmc.dt);
    /* the trials in S slots of consecutive trials (S depends on B and the sizes only, never on the thread count): each slot
       sums its trials' gradients in trial order into its own rows, the slots are spread over the threads, and
       the slots' rows are summed in slot order at the end, so every result is the same for any thread count.
       Within a slot, trials in groups of G (sizes only): the group's lists of active inputs stay under ~4 MB */
    bmc.S = bmint[19] < 1 ? 1 : (bmint[19] > bmc.B && bmc.B > 0 ? bmc.B : bmint[19]);
    bmc.g64o = bmptr[26]; bmc.gro = bmptr[27];
    {
        const int64_t bmper = bmc.T * (bmc.NI + 1) * (4 + (int64_t)sizeof(real)) + 12 * bmc.T;
        int64_t bmG = ((int64_t)4 << 20) / (bmper > 0 ? bmper : 1);
        bmG = bmG < 1 ? 1 : (bmG > 64 ? 64 : bmG);
        const int64_t bmeach = (bmc.B + bmc.S - 1) / bmc.S;
        const int64_t bmk = (bmeach + bmG - 1) / bmG;
        bmc.G = bmk > 0 ? (bmeach + bmk - 1) / bmk : 1;
        if (bmc.G < 1) bmc.G = 1;
    }
    int bmfailed = 0, bmbadinput = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads((int)bmthreads)
#endif
    {
        int bmtid = 0;
#ifdef _OPENMP
        bmtid = omp_get_thread_num();
#endif
#if defined(__SSE__) || defined(__x86_64__)
        const unsigned int bmcsr = _mm_getcsr();
        if (bmftz)
            _mm_setcsr(bmcsr | 0x8040); /* flush subnormals to zero (FTZ) and read them as zero (DAZ) */
#endif
        struct BM_(work) bmw;
        void *bmmem = BM_(bm_alloc)(&bmc, &bmw, bmtid);
        if (!bmmem) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            bmfailed = 1;
        }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t bms = 0; bms < bmc.S; bms++) {
            if (!bmmem)
                continue;
            const int64_t bmlo = bms * bmc.B / bmc.S, bmhi = (bms + 1) * bmc.B / bmc.S;
            if (bmdo_bwd) {  /* the slot's rows, zeroed by the thread that fills them */
                bmw.g64 = bmc.g64 + bms * bmc.L64;
                bmw.gr = bmc.gr + bms * bmc.Lr;
                memset(bmw.g64, 0, sizeof(double) * bmc.L64);
                memset(bmw.gr, 0, sizeof(real) * bmc.Lr);
            }
            for (int64_t bmb0 = bmlo; bmb0 < bmhi; bmb0 += bmc.G) {
                const int64_t bmg1 = bmhi - bmb0 < bmc.G ? bmhi - bmb0 : bmc.G;
                BM_(bm_prescan)(&bmc, &bmw, bmb0, bmg1);
                for (int64_t bmg = 0; bmg < bmg1; bmg++) {
                    const int64_t bm_b = bmb0 + bmg;
                    bmw.cur = bmg;
                    if (bmdo_fwd) {
                        if (bmrecord)
                            BM_(bm_forward_record)(&bmc, &bmw, bm_b);
                        else
                            BM_(bm_forward_plain)(&bmc, &bmw, bm_b);
                    }
                    if (bmdo_bwd)
                        BM_(bm_backward)(&bmc, &bmw, bm_b);
                }
            }
        }
        /* the sums over the slots, in slot order (after the loop's barrier), the columns spread over the threads */
        if (bmdo_bwd && bmc.g64o && bmc.gro) {
#ifdef _OPENMP
#pragma omp for schedule(static) nowait
#endif
            for (int64_t bmi = 0; bmi < bmc.L64; bmi++) {
                double bmsum = bmc.g64[bmi];
                for (int64_t bms = 1; bms < bmc.S; bms++)
                    bmsum += bmc.g64[bms * bmc.L64 + bmi];
                bmc.g64o[bmi] = bmsum;
            }
            /* dL/dW_in as (Nt, NI), the transpose of the rows (NI, N) (written where numpy wants it) */
#ifdef _OPENMP
#pragma omp for schedule(static) nowait
#endif
            for (int64_t bmi = 0; bmi < bmc.NI; bmi++)
                for (int64_t bmn0 = 0; bmn0 < bmc.Nt; bmn0 += 256) {  /* slot by slot, 256 neurons at a time */
                    const int64_t bmn1 = bmc.Nt - bmn0 < 256 ? bmc.Nt - bmn0 : 256;
                    const real *restrict bmg = bmc.gr + bmi * bmc.N + bmn0;
                    double bmsum[256];
                    for (int64_t bm_n = 0; bm_n < bmn1; bm_n++)
                        bmsum[bm_n] = (double)bmg[bm_n];
                    for (int64_t bms = 1; bms < bmc.S; bms++)
                        for (int64_t bm_n = 0; bm_n < bmn1; bm_n++)
                            bmsum[bm_n] += (double)bmg[bms * bmc.Lr + bm_n];
                    for (int64_t bm_n = 0; bm_n < bmn1; bm_n++)
                        bmc.gro[(bmn0 + bm_n) * bmc.NI + bmi] = bmsum[bm_n];
                }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int64_t bmj = bmc.NI * bmc.N; bmj < bmc.Lr; bmj++) {  /* a dense W: (N, N) rows as they are */
                double bmsum = (double)bmc.gr[bmj];
                for (int64_t bms = 1; bms < bmc.S; bms++)
                    bmsum += (double)bmc.gr[bms * bmc.Lr + bmj];
                bmc.gro[bmc.Nt * bmc.NI + bmj - bmc.NI * bmc.N] = bmsum;
            }
        }
        if (bmmem && bmw.bad) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            bmbadinput = 1;
        }
#if defined(__SSE__) || defined(__x86_64__)
        _mm_setcsr(bmcsr);
#endif
    }
    return bmfailed ? 1 : (bmbadinput ? 2 : 0);
}

#undef bm_sq
#undef bm_exprel
#undef BM_VECTOR_LANES
#undef BM_COMPRESS
#undef BM_
#undef real
"""
