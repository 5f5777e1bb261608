/*
 * hatang dashboard: the little script the pages need. Draws the charts (uPlot, served from this
 * collector) from the JSON in each chart element's data-chart attribute, and wires the print
 * button. The pages work without it (tables, sorting and CSV are server-side); there is no inline
 * script anywhere, so the content security policy can forbid it.
 */
(() => {
  const charts = [];

  function readData(el, attr) {
    try {
      return JSON.parse(el.getAttribute(attr) || 'null');
    } catch (_e) {
      return null;
    }
  }

  function maxOf(values) {
    let m = 0;
    for (const v of values) if (typeof v === 'number' && v > m) m = v;
    return m;
  }

  /** Weekly trend: medians per access type, with the targets as dashed lines. */
  function trendChart(el) {
    const d = readData(el, 'data-chart');
    if (!d || !window.uPlot) return;
    const xs = d.labels.map((_l, i) => i);
    let top = 0;
    for (const s of d.series) top = Math.max(top, maxOf(s.values));
    const unit = d.unit || 'Mbit/s';
    const opts = {
      width: Math.max(280, el.clientWidth),
      height: d.height || 280,
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { show: true, live: true },
      scales: {
        x: { time: false, range: [-0.3, Math.max(1, xs.length - 1) + 0.3] },
        y: { range: () => [0, Math.ceil((top * 1.12 + 1) / 10) * 10] },
      },
      axes: [
        {
          stroke: '#4a5565',
          grid: { show: false },
          ticks: { stroke: '#c9d1dc' },
          incrs: [1, 2, 4, 8, 13],
          values: (_u, splits) =>
            splits.map((i) => (Number.isInteger(i) && d.labels[i] !== undefined ? d.labels[i] : '')),
        },
        {
          stroke: '#4a5565',
          grid: { stroke: '#e6ebf1', width: 1 },
          ticks: { show: false },
          label: unit,
          labelSize: 18,
          size: 48,
        },
      ],
      series: [{ label: d.xLabel || '', value: (_u, i) => (i == null ? '—' : d.labels[i]) }].concat(
        d.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.dash ? 1.5 : 2.5,
          dash: s.dash ? [7, 5] : undefined,
          spanGaps: !!s.dash,
          points: { show: !s.dash, size: 6, fill: '#fff' },
          value: (_u, v) => (v == null ? '—' : v.toLocaleString(document.documentElement.lang || 'vi') + ' ' + unit),
        })),
      ),
    };
    const data = [xs].concat(d.series.map((s) => s.values));
    const u = new window.uPlot(opts, data, el);
    charts.push({ el, u, height: opts.height });
    el.setAttribute('data-drawn', '1');
  }

  /** Sparkline: the last weeks' medians against the target, no axes. */
  function sparkline(el) {
    const d = readData(el, 'data-spark');
    if (!d || !window.uPlot) return;
    const xs = d.values.map((_v, i) => i);
    const top = Math.max(maxOf(d.values), d.target || 0) * 1.15 + 1;
    const opts = {
      width: el.clientWidth || 120,
      height: el.clientHeight || 32,
      pxAlign: false,
      cursor: { show: false },
      select: { show: false },
      legend: { show: false },
      scales: { x: { time: false }, y: { range: [0, top] } },
      axes: [{ show: false }, { show: false }],
      series: [
        {},
        { stroke: d.color || '#1f6fb2', width: 1.75, spanGaps: false, points: { show: false } },
        { stroke: '#9aa5b1', width: 1, dash: [3, 3], points: { show: false } },
      ],
    };
    const target = xs.map(() => d.target);
    const u = new window.uPlot(opts, [xs, d.values, target], el);
    charts.push({ el, u, spark: true });
    el.setAttribute('data-drawn', '1');
  }

  function resizeAll() {
    for (const c of charts) {
      if (c.spark) continue;
      const w = Math.max(280, c.el.clientWidth);
      c.u.setSize({ width: w, height: c.height });
    }
  }

  function init() {
    for (const el of document.querySelectorAll('[data-chart]')) trendChart(el);
    for (const el of document.querySelectorAll('[data-spark]')) sparkline(el);
    for (const b of document.querySelectorAll('[data-action="print"]')) {
      b.addEventListener('click', () => window.print());
    }
    let t = 0;
    window.addEventListener('resize', () => {
      clearTimeout(t);
      t = setTimeout(resizeAll, 150);
    });
    window.addEventListener('beforeprint', resizeAll);
    window.addEventListener('afterprint', resizeAll);
    document.documentElement.setAttribute('data-ready', '1');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
