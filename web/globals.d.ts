// uPlot is loaded as a classic script (app/vendor/uplot) and used as a global.
import type uPlotClass from "./app/vendor/uplot/uPlot";

declare global {
  const uPlot: typeof uPlotClass;
}
