package io.trady4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The random augmentation of a task's training images: a random crop after zero padding (size/8 per side,
 * torchvision's CIFAR recipe) and a horizontal flip (probability ½). Written {@code none}, {@code crop},
 * {@code flip} or {@code crop,flip}.
 */
public record Augment(boolean crop, boolean flip) {
    public static final Augment NONE = new Augment(false, false);
    public static final Augment CROP = new Augment(true, false);
    public static final Augment CROP_FLIP = new Augment(true, true);

    /** Parses {@code none}, {@code crop}, {@code flip}, {@code crop,flip} (either order). */
    public static Augment parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("none")) {
            return NONE;
        }
        boolean crop = false, flip = false;
        for (String part : t.split(",", -1)) {
            switch (part.trim()) {
                case "crop" -> crop = true;
                case "flip" -> flip = true;
                default -> throw new IllegalArgumentException("unknown augmentation '" + part.trim() + "' in '" + text
                        + "'; give none, crop, flip or crop,flip");
            }
        }
        return new Augment(crop, flip);
    }

    /**
     * What suits a task kind when nothing is asked: digits and letters are not mirror-symmetric, so they are only
     * cropped; clothing (fmnist) and CIFAR's photos are cropped and flipped; a folder could hold anything (digits,
     * text, photos), so it is only cropped: pass {@code --augment crop,flip} for photos.
     */
    public static Augment defaultFor(String taskName) {
        return switch (taskName) {
            case "fmnist", "cifar10", "cifar100", "cifar100-coarse" -> CROP_FLIP;
            default -> CROP;
        };
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        if (crop) {
            parts.add("crop");
        }
        if (flip) {
            parts.add("flip");
        }
        return parts.isEmpty() ? "none" : String.join(",", parts);
    }
}
