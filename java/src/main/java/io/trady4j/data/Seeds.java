package io.trady4j.data;

/**
 * Derives independent 64-bit seeds from a run seed and a few integers (epoch, sample index, a
 * purpose tag) with the SplitMix64 finaliser, so that a random stream depends only on those
 * integers: the shuffle of epoch e is {@code derive(seed, SHUFFLE, e)}, the augmentation of sample
 * i in epoch e is {@code derive(seed, AUGMENT, e, i)}. Runs reproduce exactly and can resume
 * mid-epoch.
 */
public final class Seeds {
    public static final long SHUFFLE = 0x5348_5546L;
    public static final long AUGMENT = 0x4155_474dL;
    public static final long SPLIT = 0x5350_4c54L;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Seeds() {
    }

    /** The SplitMix64 finaliser: a bijective 64-bit mix. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A seed that depends on {@code seed} and every part, in order. */
    public static long derive(long seed, long... parts) {
        long h = mix(seed + GOLDEN);
        for (long p : parts) {
            h = mix(h + GOLDEN + mix(p ^ 0x2545F4914F6CDD1DL));
        }
        return h;
    }

    /** A 64-bit hash of a string (FNV-1a over its UTF-16 units, then mixed), stable across JVMs. */
    public static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix(h);
    }
}
