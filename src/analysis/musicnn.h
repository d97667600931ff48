/* musicnn.h: the MusiCNN model's insides, shared by its loader, network,
 * analyzer and HDF5 importer (not a public header). */
#ifndef SOUNDALIKE_ANALYSIS_MUSICNN_H
#define SOUNDALIKE_ANALYSIS_MUSICNN_H

#include <stddef.h>

#include "soundalike/tagger.h"

enum {
    MC_TENSORS = 64,   /* inference tensors in a weights file */
    MC_MAX_DIMS = 4,
    MC_FRONT = 561,    /* front-end features per frame: 2 x 204 timbral + 3 x 51 temporal */
    MC_MID = 64,       /* mid-end features per frame and layer */
    MC_POOLED = 1506,  /* (max, mean) over time of the 753 = 561 + 3 x 64 features */
    MC_PAD = 3,        /* zero frames around a patch for the 7-frame convolutions */
    MC_PADDED = SA_MUSICNN_PATCH_FRAMES + 2 * MC_PAD,
    MC_BATCH = 4,      /* patches per network run; the mid- and back-end products span the batch */
};

/* One tensor of the weights file: TF variable name and shape. */
typedef struct mc_tensor_spec {
    const char *name;
    int ndim;
    int dims[MC_MAX_DIMS];
} mc_tensor_spec;

/* The 64 tensors in the order an MCNW file stores them (sorted by name). */
extern const mc_tensor_spec mc_tensor_specs[MC_TENSORS];

/* A convolution block: conv + bias, ReLU, then batch norm folded to
 * y = scale * x + shift. The kernel is TF's [KH][KW][Cin][Cout], which is
 * also the [KH * KW * Cin][Cout] matrix of an im2col product. In the front
 * end, whose blocks end in a maximum over mel, kernel columns with a
 * negative scale are negated and sign is -1 for them (NULL elsewhere): the
 * maximum of BN(ReLU(x)) is then sign * max(sign * x) before the ReLU. */
typedef struct mc_conv {
    const float *kernel;
    const float *bias;
    const float *scale, *shift;
    const float *sign;
    int kh, kw, cout;
} mc_conv;

struct sa_musicnn {
    char *name;
    char *tag_text;                   /* the tags file; tags[] point into it */
    const char *tags[SA_MUSICNN_TAGS];
    int patches;
    float *tensors;                   /* every tensor of the file, in file order (front-end kernels sign-folded) */
    float *derived;                   /* folded batch norms and dense layer */
    float bn0_scale, bn0_shift;       /* the input's scalar batch norm */
    mc_conv timbral[2];               /* 7 x 38 and 7 x 67, 204 filters each */
    mc_conv temporal[3];              /* 128, 64, 32 frames x 1, 51 filters each */
    mc_conv mid[3];                   /* 7 frames over 561, 64, 64 features */
    const float *dense_w, *dense_b;   /* [1506][200], the pooled batch norm folded in */
    const float *emb_scale, *emb_shift; /* batch norm giving the 200-d embedding */
    const float *out_w, *out_b;       /* [200][50] logits */
};

/* Scratch memory for running the network on up to `batch` patches at once;
 * one per thread. */
typedef struct mc_work mc_work;

sa_err mc_work_new(size_t batch, mc_work **out);
void mc_work_free(mc_work *w);

/* Runs n <= batch patches, logmel[n][187][96]; tags[n][50] and
 * embedding[n][200] may be NULL. */
void mc_network_run(const sa_musicnn *m, mc_work *w, const float *logmel, size_t n, float *tags,
                    float *embedding);

#endif
