package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;

/**
 * Plain, obviously correct float64 loops for every {@link io.trady4j.backend.Backend} operation,
 * written straight from the definitions with no blocking, no im2col and no shortcuts. Inputs are
 * the float32 arrays given to the backend (row-major, NCHW); results are double arrays in the
 * same layout as the backend's outputs. Speed does not matter here, clarity does.
 */
final class Reference64 {
    private Reference64() {
    }

    static double act(Activation a, double v) {
        return switch (a) {
            case NONE -> v;
            case RELU -> Math.max(v, 0.0);
            case RELU6 -> Math.min(Math.max(v, 0.0), 6.0);
        };
    }

    /** Input index of output row oh at kernel row kh, or a value outside [0, h) for padding. */
    private static int inPos(Conv2dSpec s, int o, int k) {
        return o * s.stride() + k * s.dilation() - s.padding();
    }

    /** y[b, co, oh, ow] = act(bias[co] + Σ_{ci in group, kh, kw} x[b, g·C/g + ci, ih, iw] · w[co, ci, kh, kw]). */
    static double[] conv2d(float[] x, int batch, int h, int w, float[] wt, float[] bias, Conv2dSpec s, Activation a) {
        int c = s.inChannels(), co = s.outChannels(), d = s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
        int ho = s.outSize(h), wo = s.outSize(w);
        double[] y = new double[batch * co * ho * wo];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < co; o++) {
                int g = o / mg;
                for (int oh = 0; oh < ho; oh++) {
                    for (int ow = 0; ow < wo; ow++) {
                        double acc = bias == null ? 0.0 : bias[o];
                        for (int ci = 0; ci < cg; ci++) {
                            int cin = g * cg + ci;
                            for (int kh = 0; kh < d; kh++) {
                                int ih = inPos(s, oh, kh);
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                for (int kw = 0; kw < d; kw++) {
                                    int iw = inPos(s, ow, kw);
                                    if (iw < 0 || iw >= w) {
                                        continue;
                                    }
                                    acc += (double) x[((b * c + cin) * h + ih) * w + iw]
                                            * wt[((o * cg + ci) * d + kh) * d + kw];
                                }
                            }
                        }
                        y[((b * co + o) * ho + oh) * wo + ow] = act(a, acc);
                    }
                }
            }
        }
        return y;
    }

    /** The full weight gradient dW [C', C/g, D, D] from the full input x and dy. */
    static double[] conv2dDwFull(float[] x, int batch, int h, int w, float[] dy, Conv2dSpec s) {
        int c = s.inChannels(), co = s.outChannels(), d = s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
        int ho = s.outSize(h), wo = s.outSize(w);
        double[] dw = new double[co * cg * d * d];
        for (int o = 0; o < co; o++) {
            int g = o / mg;
            for (int ci = 0; ci < cg; ci++) {
                int cin = g * cg + ci;
                for (int kh = 0; kh < d; kh++) {
                    for (int kw = 0; kw < d; kw++) {
                        double acc = 0.0;
                        for (int b = 0; b < batch; b++) {
                            for (int oh = 0; oh < ho; oh++) {
                                int ih = inPos(s, oh, kh);
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                for (int ow = 0; ow < wo; ow++) {
                                    int iw = inPos(s, ow, kw);
                                    if (iw < 0 || iw >= w) {
                                        continue;
                                    }
                                    acc += (double) x[((b * c + cin) * h + ih) * w + iw]
                                            * dy[((b * co + o) * ho + oh) * wo + ow];
                                }
                            }
                        }
                        dw[((o * cg + ci) * d + kh) * d + kw] = acc;
                    }
                }
            }
        }
        return dw;
    }

    /**
     * The sparse weight gradient as the slice of the full one, by the layout of {@link Conv2dSpec}:
     * dwSel[o, j, kh, kw] = dW[group(S_j)·C'/g + o, S_j mod C/g, kh, kw].
     */
    static double[] sliceDw(double[] dwFull, Conv2dSpec s, int[] sel) {
        int cg = s.inPerGroup(), mg = s.outPerGroup(), d2 = s.kernel() * s.kernel(), ns = sel.length;
        double[] out = new double[mg * ns * d2];
        for (int o = 0; o < mg; o++) {
            for (int j = 0; j < ns; j++) {
                int g = sel[j] / cg, local = sel[j] % cg;
                for (int t = 0; t < d2; t++) {
                    out[(o * ns + j) * d2 + t] = dwFull[((g * mg + o) * cg + local) * d2 + t];
                }
            }
        }
        return out;
    }

    /** dx[b, ci, ih, iw] = Σ over every (co, oh, ow, kh, kw) that read x[b, ci, ih, iw] of dy · w. */
    static double[] conv2dDx(float[] dy, int batch, int h, int w, float[] wt, Conv2dSpec s) {
        int c = s.inChannels(), co = s.outChannels(), d = s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
        int ho = s.outSize(h), wo = s.outSize(w);
        double[] dx = new double[batch * c * h * w];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < co; o++) {
                int g = o / mg;
                for (int oh = 0; oh < ho; oh++) {
                    for (int ow = 0; ow < wo; ow++) {
                        double gy = dy[((b * co + o) * ho + oh) * wo + ow];
                        for (int ci = 0; ci < cg; ci++) {
                            int cin = g * cg + ci;
                            for (int kh = 0; kh < d; kh++) {
                                int ih = inPos(s, oh, kh);
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                for (int kw = 0; kw < d; kw++) {
                                    int iw = inPos(s, ow, kw);
                                    if (iw < 0 || iw >= w) {
                                        continue;
                                    }
                                    dx[((b * c + cin) * h + ih) * w + iw] += gy * wt[((o * cg + ci) * d + kh) * d + kw];
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx;
    }

    /** xSel[b, j, ...] = x[b, S_j, ...]; plane = product of the dims after the channel dim. */
    static double[] gather(float[] x, int batch, int channels, int plane, int[] sel) {
        double[] out = new double[batch * sel.length * plane];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < sel.length; j++) {
                for (int p = 0; p < plane; p++) {
                    out[(b * sel.length + j) * plane + p] = x[(b * channels + sel[j]) * plane + p];
                }
            }
        }
        return out;
    }

    /** y[b, o] = Σ_f x[b, f] · w[o, f] + bias[o]. */
    static double[] linear(float[] x, int batch, int f, float[] w, int o, float[] bias) {
        double[] y = new double[batch * o];
        for (int b = 0; b < batch; b++) {
            for (int oi = 0; oi < o; oi++) {
                double acc = bias == null ? 0.0 : bias[oi];
                for (int e = 0; e < f; e++) {
                    acc += (double) x[b * f + e] * w[oi * f + e];
                }
                y[b * o + oi] = acc;
            }
        }
        return y;
    }

    /** dx[b, f] = Σ_o dy[b, o] · w[o, f]. */
    static double[] linearDx(float[] dy, int batch, int o, float[] w, int f) {
        double[] dx = new double[batch * f];
        for (int b = 0; b < batch; b++) {
            for (int e = 0; e < f; e++) {
                double acc = 0.0;
                for (int oi = 0; oi < o; oi++) {
                    acc += (double) dy[b * o + oi] * w[oi * f + e];
                }
                dx[b * f + e] = acc;
            }
        }
        return dx;
    }

    /** Full linear weight gradient dW[o, f] = Σ_b dy[b, o] · x[b, f]. */
    static double[] linearDwFull(float[] x, int batch, int f, float[] dy, int o) {
        double[] dw = new double[o * f];
        for (int oi = 0; oi < o; oi++) {
            for (int e = 0; e < f; e++) {
                double acc = 0.0;
                for (int b = 0; b < batch; b++) {
                    acc += (double) dy[b * o + oi] * x[b * f + e];
                }
                dw[oi * f + e] = acc;
            }
        }
        return dw;
    }

    /** db[c] = Σ_b Σ_p dy[b, c, p]. */
    static double[] biasGrad(float[] dy, int batch, int c, int plane) {
        double[] db = new double[c];
        for (int b = 0; b < batch; b++) {
            for (int ci = 0; ci < c; ci++) {
                for (int p = 0; p < plane; p++) {
                    db[ci] += dy[(b * c + ci) * plane + p];
                }
            }
        }
        return db;
    }

    static double[] activation(Activation a, float[] x) {
        double[] y = new double[x.length];
        for (int e = 0; e < x.length; e++) {
            y[e] = act(a, x[e]);
        }
        return y;
    }

    /** dx = dy where the activation's derivative at output y is 1, else 0 (PyTorch: ReLU y > 0; ReLU6 0 < y < 6). */
    static double[] activationBackward(Activation a, float[] y, float[] dy) {
        double[] dx = new double[y.length];
        for (int e = 0; e < y.length; e++) {
            boolean pass = switch (a) {
                case NONE -> true;
                case RELU -> y[e] > 0;
                case RELU6 -> y[e] > 0 && y[e] < 6;
            };
            dx[e] = pass ? dy[e] : 0.0;
        }
        return dx;
    }

    static double[] add(float[] a, float[] b) {
        double[] out = new double[a.length];
        for (int e = 0; e < a.length; e++) {
            out[e] = (double) a[e] + b[e];
        }
        return out;
    }

    static double[] globalAvgPool(float[] x, int bc, int plane) {
        double[] y = new double[bc];
        for (int i = 0; i < bc; i++) {
            double acc = 0.0;
            for (int p = 0; p < plane; p++) {
                acc += x[i * plane + p];
            }
            y[i] = acc / plane;
        }
        return y;
    }

    static double[] globalAvgPoolBackward(float[] dy, int bc, int plane) {
        double[] dx = new double[bc * plane];
        for (int i = 0; i < bc; i++) {
            for (int p = 0; p < plane; p++) {
                dx[i * plane + p] = (double) dy[i] / plane;
            }
        }
        return dx;
    }

    /** Max pooling result: values and the first arg-max (row-major scan) as a flat offset in the input plane. */
    record Pool(double[] y, int[] argmax) {
    }

    static Pool maxPool(float[] x, int planes, int h, int w, int k, int stride, int pad) {
        int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
        double[] y = new double[planes * ho * wo];
        int[] arg = new int[planes * ho * wo];
        for (int pl = 0; pl < planes; pl++) {
            for (int oh = 0; oh < ho; oh++) {
                for (int ow = 0; ow < wo; ow++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int kh = 0; kh < k; kh++) {
                        for (int kw = 0; kw < k; kw++) {
                            int ih = oh * stride + kh - pad, iw = ow * stride + kw - pad;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue;
                            }
                            double v = x[(pl * h + ih) * w + iw];
                            if (at < 0 || v > best) {
                                best = v;
                                at = ih * w + iw;
                            }
                        }
                    }
                    y[(pl * ho + oh) * wo + ow] = best;
                    arg[(pl * ho + oh) * wo + ow] = at;
                }
            }
        }
        return new Pool(y, arg);
    }

    static double[] maxPoolBackward(float[] dy, int[] argmax, int planes, int outPlane, int inPlane) {
        double[] dx = new double[planes * inPlane];
        for (int pl = 0; pl < planes; pl++) {
            for (int e = 0; e < outPlane; e++) {
                dx[pl * inPlane + argmax[pl * outPlane + e]] += dy[pl * outPlane + e];
            }
        }
        return dx;
    }

    /** {mean loss, #correct} and the gradient (softmax − onehot)/B. */
    record CrossEntropy(double meanLoss, int correct, double[] grad) {
    }

    static CrossEntropy softmaxCrossEntropy(float[] z, int batch, int k, int[] labels) {
        double loss = 0.0;
        int correct = 0;
        double[] grad = new double[batch * k];
        for (int b = 0; b < batch; b++) {
            double max = Double.NEGATIVE_INFINITY;
            int arg = -1;
            for (int j = 0; j < k; j++) {
                if (z[b * k + j] > max) {
                    max = z[b * k + j];
                    arg = j;
                }
            }
            double sum = 0.0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(z[b * k + j] - max);
            }
            double logSumExp = max + Math.log(sum);
            loss += logSumExp - z[b * k + labels[b]];
            if (arg == labels[b]) {
                correct++;
            }
            for (int j = 0; j < k; j++) {
                double p = Math.exp(z[b * k + j] - logSumExp);
                grad[b * k + j] = (p - (j == labels[b] ? 1.0 : 0.0)) / batch;
            }
        }
        return new CrossEntropy(loss / batch, correct, grad);
    }

    /** One SGD step (PyTorch's rule) on copies; returns {new param, new momentum (or null)}. */
    static double[][] sgd(float[] p, float[] g, float[] m, double lr, double mu, double wd) {
        double[] np = new double[p.length];
        double[] nm = m == null ? null : new double[p.length];
        for (int e = 0; e < p.length; e++) {
            double d = (double) g[e] + wd * p[e];
            if (nm != null) {
                nm[e] = mu * m[e] + d;
                d = nm[e];
            }
            np[e] = p[e] - lr * d;
        }
        return new double[][] {np, nm};
    }

    /**
     * Sparse SGD: only W[group(S_j)·C'/g + o, S_j mod C/g, :, :] changes, from dwSel[o, j, :, :].
     * w is [C', C/g, D²] flattened (D² = 1 for linear layers); returns {new w, new momentum (or null)}.
     */
    static double[][] sgdSparse(float[] w, int cout, int cg, int d2, int groups, float[] dwSel, int[] sel, float[] m,
                                double lr, double mu, double wd) {
        int mg = cout / groups, ns = sel.length;
        double[] nw = new double[w.length];
        for (int e = 0; e < w.length; e++) {
            nw[e] = w[e];
        }
        double[] nm = m == null ? null : new double[m.length];
        for (int o = 0; o < mg; o++) {
            for (int j = 0; j < ns; j++) {
                int g = sel[j] / cg, local = sel[j] % cg;
                for (int t = 0; t < d2; t++) {
                    int wi = ((g * mg + o) * cg + local) * d2 + t, gi = (o * ns + j) * d2 + t;
                    double d = (double) dwSel[gi] + wd * w[wi];
                    if (nm != null) {
                        nm[gi] = mu * m[gi] + d;
                        d = nm[gi];
                    }
                    nw[wi] = w[wi] - lr * d;
                }
            }
        }
        return new double[][] {nw, nm};
    }
}
