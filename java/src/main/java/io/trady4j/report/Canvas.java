package io.trady4j.report;

import io.trady4j.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A drawing of rectangles, polylines, circles and text on a white page, written as SVG (stable text,
 * for diffs and browsers) or as PNG (rendered with java.awt, headless, for viewers that show no SVG).
 * Both come from the same shapes, so what the PNG shows is what the SVG says.
 */
public final class Canvas {
    /** Where a text's x lies: its start, middle or end. */
    public enum Anchor { START, MIDDLE, END }

    private sealed interface Item permits Box, Polyline, Dot, Label {
    }

    private record Box(double x, double y, double w, double h, String fill, String stroke) implements Item {
    }

    private record Polyline(double[] xs, double[] ys, String stroke, double width, boolean dashed) implements Item {
    }

    private record Dot(double x, double y, double r, String fill) implements Item {
    }

    private record Label(double x, double y, String text, int size, Anchor anchor, boolean bold, String fill,
                         double rotation) implements Item {
    }

    private final int width;
    private final int height;
    private final List<Item> items = new ArrayList<>();

    public Canvas(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("a canvas needs a positive size, got " + width + "x" + height);
        }
        this.width = width;
        this.height = height;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The width of {@code text} at {@code size} pixels, estimated for DejaVu Sans (the same on every machine). */
    public static double textWidth(String text, int size, boolean bold) {
        return text.length() * size * (bold ? 0.64 : 0.58);
    }

    /** A rectangle; {@code fill} or {@code stroke} null for none. */
    public Canvas rect(double x, double y, double w, double h, String fill, String stroke) {
        items.add(new Box(x, y, w, h, fill, stroke));
        return this;
    }

    public Canvas line(double x1, double y1, double x2, double y2, String stroke, double width, boolean dashed) {
        return polyline(new double[]{x1, x2}, new double[]{y1, y2}, stroke, width, dashed);
    }

    /** Connected segments through the points; fewer than two points draw nothing (use a dot). */
    public Canvas polyline(double[] xs, double[] ys, String stroke, double width, boolean dashed) {
        if (xs.length != ys.length) {
            throw new IllegalArgumentException("a polyline needs as many x as y, got " + xs.length + " and " + ys.length);
        }
        if (xs.length >= 2) {
            items.add(new Polyline(xs.clone(), ys.clone(), stroke, width, dashed));
        }
        return this;
    }

    public Canvas dot(double x, double y, double r, String fill) {
        items.add(new Dot(x, y, r, fill));
        return this;
    }

    /** Text with its baseline at y; {@code rotation} in degrees, clockwise, about (x, y). */
    public Canvas text(double x, double y, String text, int size, Anchor anchor, boolean bold, String fill, double rotation) {
        items.add(new Label(x, y, text, size, anchor, bold, fill, rotation));
        return this;
    }

    public Canvas text(double x, double y, String text, int size, Anchor anchor, boolean bold) {
        return text(x, y, text, size, anchor, bold, "black", 0);
    }

    // ------------------------------------------------------------------ SVG

    public String toSvg() {
        StringBuilder sb = new StringBuilder();
        sb.append(f("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">%n", width, height, width, height));
        sb.append(f("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        for (Item item : items) {
            switch (item) {
                case Box b -> sb.append(f("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"%s/>%n",
                        b.x(), b.y(), b.w(), b.h(), b.fill() == null ? "none" : b.fill(),
                        b.stroke() == null ? "" : " stroke=\"" + b.stroke() + "\""));
                case Polyline p -> {
                    StringBuilder d = new StringBuilder();
                    for (int i = 0; i < p.xs().length; i++) {
                        d.append(i == 0 ? "M" : " L").append(f("%.1f %.1f", p.xs()[i], p.ys()[i]));
                    }
                    sb.append(f("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s/>%n", d, p.stroke(),
                            p.width(), p.dashed() ? " stroke-dasharray=\"6 4\"" : ""));
                }
                case Dot c -> sb.append(f("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>%n", c.x(), c.y(), c.r(),
                        c.fill()));
                case Label t -> sb.append(f("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"%s fill=\"%s\"%s>%s</text>%n",
                        t.x(), t.y(), t.size(), t.anchor().name().toLowerCase(Locale.ROOT),
                        t.bold() ? " font-weight=\"bold\"" : "", t.fill(),
                        t.rotation() == 0 ? "" : f(" transform=\"rotate(%.0f %.1f %.1f)\"", t.rotation(), t.x(), t.y()),
                        escape(t.text())));
            }
        }
        return sb.append("</svg>\n").toString();
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    // ------------------------------------------------------------------ PNG

    /** The drawing rendered at {@code scale} (2 gives sharp text on high-density screens), as PNG bytes. */
    public byte[] toPng(double scale) throws IOException {
        if (!(scale > 0) || scale > 8) {
            throw new IllegalArgumentException("PNG scale must be in (0, 8], got " + scale);
        }
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage((int) Math.ceil(width * scale), (int) Math.ceil(height * scale),
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.scale(scale, scale);
            g.setColor(Color.WHITE);
            g.fill(new Rectangle2D.Double(0, 0, width, height));
            for (Item item : items) {
                draw(g, item);
            }
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }

    private static void draw(Graphics2D g, Item item) {
        switch (item) {
            case Box b -> {
                Rectangle2D r = new Rectangle2D.Double(b.x(), b.y(), b.w(), b.h());
                if (b.fill() != null) {
                    g.setColor(color(b.fill()));
                    g.fill(r);
                }
                if (b.stroke() != null) {
                    g.setColor(color(b.stroke()));
                    g.setStroke(new BasicStroke(1f));
                    g.draw(r);
                }
            }
            case Polyline p -> {
                Path2D.Double path = new Path2D.Double();
                path.moveTo(p.xs()[0], p.ys()[0]);
                for (int i = 1; i < p.xs().length; i++) {
                    path.lineTo(p.xs()[i], p.ys()[i]);
                }
                g.setColor(color(p.stroke()));
                g.setStroke(p.dashed() ? new BasicStroke((float) p.width(), BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                        new float[]{6f, 4f}, 0f) : new BasicStroke((float) p.width(), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                g.draw(p.xs().length == 2 ? new Line2D.Double(p.xs()[0], p.ys()[0], p.xs()[1], p.ys()[1]) : path);
            }
            case Dot c -> {
                g.setColor(color(c.fill()));
                g.fill(new Ellipse2D.Double(c.x() - c.r(), c.y() - c.r(), 2 * c.r(), 2 * c.r()));
            }
            case Label t -> {
                Font font = new Font("DejaVu Sans", t.bold() ? Font.BOLD : Font.PLAIN, 1).deriveFont((float) t.size());
                g.setFont(font);
                FontMetrics fm = g.getFontMetrics();
                double w = fm.getStringBounds(t.text(), g).getWidth();
                double dx = switch (t.anchor()) {
                    case START -> 0;
                    case MIDDLE -> -w / 2;
                    case END -> -w;
                };
                AffineTransform saved = g.getTransform();
                g.translate(t.x(), t.y());
                if (t.rotation() != 0) {
                    g.rotate(Math.toRadians(t.rotation()));
                }
                g.setColor(color(t.fill()));
                g.drawString(t.text(), (float) dx, 0f);
                g.setTransform(saved);
            }
        }
    }

    private static Color color(String css) {
        return switch (css) {
            case "white" -> Color.WHITE;
            case "black" -> Color.BLACK;
            default -> {
                if (!css.matches("#[0-9a-fA-F]{6}")) {
                    throw new IllegalArgumentException("colours are #rrggbb, white or black; got " + css);
                }
                yield new Color(Integer.parseInt(css.substring(1), 16));
            }
        };
    }

    // ------------------------------------------------------------------ files

    /** Writes {@code base}.svg and {@code base}.png (at scale 2) atomically; returns both paths. */
    public List<Path> write(Path base) throws IOException {
        String name = base.getFileName().toString();
        Path svg = base.resolveSibling(name + ".svg");
        Path png = base.resolveSibling(name + ".png");
        AtomicFiles.writeString(svg, toSvg());
        byte[] bytes = toPng(2);
        AtomicFiles.write(png, ch -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
        return List.of(svg, png);
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }
}
