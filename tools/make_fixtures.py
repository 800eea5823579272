"""Writes test/fixtures/*.json: inputs and outputs of the seed's algorithms, run in numpy float64.

The functions below are the course notebook's (../shared/seed/convolution-step-by-step.md) and the
course's backward/pooling steps, written loop for loop; the only change is the crop of dA_prev_pad,
which uses explicit bounds so that pad = 0 works (the notebook's [pad:-pad] gives an empty slice).
Each case with a published answer from the course asserts it here, and the test suite asserts it again.

Run: python3 tools/make_fixtures.py   (CI reads the committed JSON and needs no Python.)
"""
import json
import os

import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), "constant")


def conv_single_step(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W) + float(b.item())


def conv_forward(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = int((n_H_prev + 2 * pad - f) / stride) + 1
    n_W = int((n_W_prev + 2 * pad - f) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    a_slice_prev = a_prev_pad[vs:vs + f, hs:hs + f, :]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape
    dA_prev = np.zeros(A_prev.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    a_slice = a_prev_pad[vs:vs + f, hs:hs + f, :]
                    da_prev_pad[vs:vs + f, hs:hs + f, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i, :, :, :] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    A = np.zeros((m, n_H, n_W, n_C_prev))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C_prev):
                    vs, hs = h * stride, w * stride
                    a_prev_slice = A_prev[i, vs:vs + f, hs:hs + f, c]
                    A[i, h, w, c] = np.max(a_prev_slice) if mode == "max" else np.mean(a_prev_slice)
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    return x == np.max(x)


def distribute_value(dz, shape):
    (n_H, n_W) = shape
    return np.ones(shape) * dz / (n_H * n_W)


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride, f = hparameters["stride"], hparameters["f"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    if mode == "max":
                        a_prev_slice = a_prev[vs:vs + f, hs:hs + f, c]
                        mask = create_mask_from_window(a_prev_slice)
                        dA_prev[i, vs:vs + f, hs:hs + f, c] += mask * dA[i, h, w, c]
                    else:
                        dA_prev[i, vs:vs + f, hs:hs + f, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev


def t(x):
    """A tensor as JSON: shape and flat row-major data."""
    x = np.asarray(x, dtype=np.float64)
    return {"shape": list(x.shape), "data": x.reshape(-1).tolist()}


def close(a, b):
    assert np.allclose(a, b, rtol=0, atol=1e-8), (a, b)


def main():
    out_dir = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    cases = {}

    # zero_pad (course: x = randn(4, 3, 3, 2), pad 2)
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    cases["zero_pad"] = {"X": t(x), "pad": 2, "out": t(zero_pad(x, 2))}

    # conv_single_step: published Z = -6.99908945068
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    z = conv_single_step(a_slice_prev, W, b)
    close(z, -6.99908945068)
    cases["conv_single_step"] = {"aSlice": t(a_slice_prev), "W": t(W), "b": t(b), "Z": z, "published": {"Z": -6.99908945068}}

    # conv_forward: published mean(Z) = 0.5511276474566768 and Z[0, 2, 1]
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 7, 4)
    W = np.random.randn(3, 3, 4, 8)
    b = np.random.randn(1, 1, 1, 8)
    hp = {"pad": 1, "stride": 2}
    Z, _ = conv_forward(A_prev, W, b, hp)
    z021 = [-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428, 10.99288867, 3.03171932]
    close(np.mean(Z), 0.5511276474566768)
    close(Z[0, 2, 1], z021)
    cases["conv_forward"] = {"A": t(A_prev), "W": t(W), "b": t(b), "hparameters": hp, "Z": t(Z),
                             "published": {"meanZ": 0.5511276474566768, "Z021": z021}}

    # conv_backward with dZ = Z: published means of dA, dW, db
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    hp = {"pad": 2, "stride": 2}
    Z, cache = conv_forward(A_prev, W, b, hp)
    dA, dW, db = conv_backward(Z, cache)
    close(np.mean(dA), 1.45243777754)
    close(np.mean(dW), 1.72699145831)
    close(np.mean(db), 7.83923256462)
    cases["conv_backward"] = {"A": t(A_prev), "W": t(W), "b": t(b), "hparameters": hp, "Z": t(Z),
                              "dA": t(dA), "dW": t(dW), "db": t(db),
                              "published": {"meanDA": 1.45243777754, "meanDW": 1.72699145831, "meanDB": 7.83923256462}}

    # conv_backward with pad = 0 and stride > f (the notebook's [pad:-pad] breaks at pad = 0)
    np.random.seed(2)
    A_prev = np.random.randn(2, 7, 8, 3)
    W = np.random.randn(2, 2, 3, 5)
    b = np.random.randn(1, 1, 1, 5)
    hp = {"pad": 0, "stride": 3}
    Z, cache = conv_forward(A_prev, W, b, hp)
    dZ = np.random.randn(*Z.shape)
    dA, dW, db = conv_backward(dZ, cache)
    cases["conv_backward_pad0_stride_gt_f"] = {"A": t(A_prev), "W": t(W), "b": t(b), "hparameters": hp, "Z": t(Z),
                                               "dZ": t(dZ), "dA": t(dA), "dW": t(dW), "db": t(db)}

    # pool_forward (course: A_prev randn(2, 5, 5, 3), f 3, stride 1 and f 3, stride 2)
    for name, hp in (("pool_forward_s1", {"stride": 1, "f": 3}), ("pool_forward_s2", {"stride": 2, "f": 3})):
        np.random.seed(1)
        A_prev = np.random.randn(2, 5, 5, 3)
        cases[name] = {"A": t(A_prev), "hparameters": hp,
                       "max": t(pool_forward(A_prev, hp, "max")[0]),
                       "average": t(pool_forward(A_prev, hp, "average")[0])}

    # create_mask_from_window and distribute_value (course checks)
    np.random.seed(1)
    x = np.random.randn(2, 3)
    cases["create_mask_from_window"] = {"x": t(x), "mask": t(create_mask_from_window(x))}
    cases["distribute_value"] = {"dz": 2.0, "shape": [2, 2], "out": t(distribute_value(2.0, (2, 2)))}

    # pool_backward: published dA_prev[1, 1] for average; max too
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hp = {"stride": 1, "f": 2}
    A, cache = pool_forward(A_prev, hp)
    dA = np.random.randn(5, 4, 2, 2)
    d_max = pool_backward(dA, cache, mode="max")
    d_avg = pool_backward(dA, cache, mode="average")
    pub_avg = [[0.08485462, 0.2787552], [1.26461098, -0.25749373], [1.17975636, -0.53624893]]
    pub_max = [[0.0, 0.0], [5.05844394, -1.68282702], [0.0, 0.0]]
    close(d_avg[1, 1], pub_avg)
    close(d_max[1, 1], pub_max)
    close(np.mean(dA), 0.145713902729)
    cases["pool_backward"] = {"A": t(A_prev), "hparameters": hp, "dA": t(dA), "max": t(d_max), "average": t(d_avg),
                              "published": {"average11": pub_avg, "max11": pub_max}}

    # windows whose values are all negative, overlapping (stride < f): max routing must not use 0 or
    # the smallest positive float as its starting point
    np.random.seed(3)
    A_prev = -np.abs(np.random.randn(2, 6, 6, 5)) - 1.0
    hp = {"stride": 1, "f": 3}
    A, cache = pool_forward(A_prev, hp)
    dA = np.random.randn(*A.shape)
    cases["pool_all_negative"] = {"A": t(A_prev), "hparameters": hp, "max": t(A), "dA": t(dA),
                                  "dA_prev_max": t(pool_backward(dA, cache, "max")),
                                  "dA_prev_average": t(pool_backward(dA, cache, "average"))}

    for name, case in cases.items():
        with open(os.path.join(out_dir, name + ".json"), "w") as fh:
            json.dump({"generated_by": "tools/make_fixtures.py", **case}, fh)
    print(f"wrote {len(cases)} fixtures to {os.path.normpath(out_dir)}")


if __name__ == "__main__":
    main()
