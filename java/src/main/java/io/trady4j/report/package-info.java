/**
 * Charts for reports (line charts, heat maps, bar charts, channel-selection maps) drawn on a {@link
 * io.trady4j.report.Canvas} and written as SVG and PNG. Plain data in, no knowledge of models or runs:
 * the CLI and the study turn their JSON into these. Uses only java.awt (headless) and {@code io}.
 */
package io.trady4j.report;
