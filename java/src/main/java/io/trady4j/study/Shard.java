package io.trady4j.study;

import java.util.List;

/**
 * One of {@code count} study processes sharing a cache (1-based {@code index}): it trains the grid runs of every
 * {@code count}-th target × strategy group, so the learning-rate search of a group and all its runs stay in one
 * process. On 2 cores two single-threaded shards finish the grid in about half the time of one two-threaded
 * process, whose small per-step ops keep the second core mostly idle. A study without shards is {@link #ALL}.
 */
public record Shard(int index, int count) {
    public static final Shard ALL = new Shard(1, 1);

    public Shard {
        if (count < 1 || index < 1 || index > count) {
            throw new IllegalArgumentException("a shard is K/N with 1 <= K <= N, got " + index + "/" + count);
        }
    }

    /** Parses "K/N". */
    public static Shard parse(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length != 2) {
            throw new IllegalArgumentException("a shard is K/N (e.g. 1/2), got '" + text + "'");
        }
        try {
            return new Shard(Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a shard is K/N (e.g. 1/2), got '" + text + "'");
        }
    }

    /** Whether this shard trains the key's run (its group is target × strategy, in the study's order). */
    boolean owns(GridRun.Key key, List<String> targets, List<String> strategies) {
        int group = targets.indexOf(key.target()) * strategies.size() + strategies.indexOf(key.strategy());
        return group % count == index - 1;
    }

    public boolean isAll() {
        return count == 1;
    }
}
