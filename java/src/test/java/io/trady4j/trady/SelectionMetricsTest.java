package io.trady4j.trady;

import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.LayerGeometry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SelectionMetricsTest {
    @Test
    void figuresAgreeWithAnIndependentRecount() {
        Architecture arch = ModelZoo.build("mbv2-w0.35", 10);
        CostModel cost = CostModel.of(arch, 64);
        Map<Integer, int[]> sel = Map.of(3, new int[]{0, 5, 9}, 20, new int[]{1}, 40, new int[]{2, 3, 4, 5});
        SelectionMetrics m = SelectionMetrics.of(cost, sel, 50_000);

        // recount from the raw geometry, without CostModel
        List<LayerGeometry> geo = arch.geometry(64);
        double caAll = 0, cwAll = 0, dwAll = 0, caSel = 0, cwSel = 0, dwSel = 0;
        for (int i = 0; i < geo.size(); i++) {
            LayerGeometry g = geo.get(i);
            var c = g.layer().conv();
            double cw = (double) c.outChannels() / c.groups() * c.kernel() * c.kernel();
            double ca = g.inHeight() * g.inWidth();
            double dw = cw * g.outHeight() * g.outWidth();
            caAll += ca * c.inChannels();
            cwAll += cw * c.inChannels();
            dwAll += dw * c.inChannels();
            int n = sel.containsKey(i) ? sel.get(i).length : 0;
            caSel += ca * n;
            cwSel += cw * n;
            dwSel += dw * n;
        }
        assertEquals(1 - caSel / caAll, m.activationSparsity(), 1e-12);
        assertEquals(1 - cwSel / cwAll, m.weightDerivativeSparsity(), 1e-12);
        assertEquals(1 - dwSel / dwAll, m.dwFlopsSaved(), 1e-12);
        assertEquals(8, m.selectedChannels());
        // layer 3 opens its block: every later conv (and none before) computes its input gradient
        double afterDeepest = 0;
        for (int i = 4; i < geo.size(); i++) {
            var c = geo.get(i).layer().conv();
            afterDeepest += 2.0 * c.inChannels() * c.outChannels() / c.groups() * c.kernel() * c.kernel()
                    * geo.get(i).outHeight() * geo.get(i).outWidth();
        }
        assertEquals(afterDeepest, m.gradientPathFlops(), 1e-6 * afterDeepest);
    }
}
