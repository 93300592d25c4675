// Evidence charts with Chart.js (web/vendor/chart.umd.min.js, loaded as the global
// `Chart`). The x axis is linear over epoch milliseconds with our own tick labels in
// UTC (titled so), which spares a date-adapter dependency. Nights and weekends are gaps
// in the price line, not straight lines across them; the alert's window is shaded;
// the account's trades are drawn above the round-trip pairs.

const COLORS = {
  price: "#1f4e8c",
  buy: "#1b7a3d",
  sell: "#b3261e",
  announcement: "#8a4b00",
  pair: "#6b3fa0",
};

/** Timestamps may arrive as ISO strings, epoch seconds or epoch milliseconds. */
export function toMillis(ts) {
  if (typeof ts === "number") return ts < 1e12 ? ts * 1000 : ts;
  const parsed = Date.parse(ts);
  return Number.isNaN(parsed) ? null : parsed;
}

const tickFormat = new Intl.DateTimeFormat("en-GB", {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** Consecutive bars further apart than this are separate sessions: no line between. */
export const SESSION_GAP_MS = 6 * 3600 * 1000;

/** Points with a null between sessions, so Chart.js (spanGaps: false) breaks the line. */
export function breakAtGaps(points, gapMs = SESSION_GAP_MS) {
  const out = [];
  for (const point of points) {
    const previous = out[out.length - 1];
    if (previous && point.x - previous.x > gapMs) out.push({ x: previous.x + 1, y: null });
    out.push(point);
  }
  return out;
}

function pricesDataset(chart) {
  const data = (chart.prices ?? [])
    .map(([ts, close]) => ({ x: toMillis(ts), y: close }))
    .filter((p) => p.x !== null);
  return {
    type: "line",
    label: "Close price",
    data: breakAtGaps(data),
    borderColor: COLORS.price,
    borderWidth: 1.5,
    pointRadius: 0,
    tension: 0,
    spanGaps: false,
    order: 3,
  };
}

function tradeDatasets(chart) {
  const trades = chart.trades ?? [];
  const points = (side) =>
    trades
      .filter((t) => t.side === side)
      .map((t) => ({ x: toMillis(t.ts), y: t.price, trade: t }))
      .filter((p) => p.x !== null);
  return [
    {
      type: "scatter",
      label: "Buys",
      data: points("buy"),
      backgroundColor: COLORS.buy,
      borderColor: COLORS.buy,
      pointStyle: "triangle",
      pointRadius: 6,
      order: 0, // lowest order is drawn last: trades stay visible above the pairs
    },
    {
      type: "scatter",
      label: "Sells",
      data: points("sell"),
      backgroundColor: COLORS.sell,
      borderColor: COLORS.sell,
      pointStyle: "triangle",
      rotation: 180,
      pointRadius: 6,
      order: 0, // lowest order is drawn last: trades stay visible above the pairs
    },
  ];
}

/** A vertical line at the announcement, spanning the plotted prices. */
function announcementDataset(chart, ys) {
  const announcement = chart.announcement;
  const x = announcement ? toMillis(announcement.ts) : null;
  if (x === null || ys.length === 0) return null;
  return {
    type: "line",
    label: `Announcement: ${announcement.headline ?? ""}`.trim(),
    data: [
      { x, y: Math.min(...ys) },
      { x, y: Math.max(...ys) },
    ],
    borderColor: COLORS.announcement,
    borderDash: [6, 4],
    borderWidth: 2,
    pointRadius: 0,
    order: 2,
  };
}

/** Each round trip as a segment from its buy leg to its sell leg (null breaks the line). */
function roundTripDataset(chart) {
  const data = [];
  for (const pair of chart.round_trips ?? []) {
    const buy = { x: toMillis(pair.buy_ts), y: pair.buy_price ?? pair.price };
    const sell = { x: toMillis(pair.sell_ts), y: pair.sell_price ?? pair.price };
    if (buy.x === null || sell.x === null) continue;
    data.push(buy, sell, { x: sell.x, y: null });
  }
  if (data.length === 0) return null;
  return {
    type: "line",
    label: "Round-trip pairs",
    data,
    borderColor: COLORS.pair,
    backgroundColor: COLORS.pair,
    borderWidth: 2,
    pointRadius: 3,
    pointStyle: "circle",
    backgroundColor: "transparent",
    spanGaps: false,
    order: 1,
  };
}

/** Whether a finding carries anything worth plotting. */
export function hasChartData(chart) {
  return Boolean(
    chart && (chart.prices?.length || chart.trades?.length || chart.round_trips?.length),
  );
}

/** Shades the alert's window behind the datasets (no annotation plugin needed). */
function alertWindowPlugin(window_) {
  const start = toMillis(window_?.start);
  const end = toMillis(window_?.end);
  return {
    id: "alertWindow",
    beforeDatasetsDraw(chartInstance) {
      if (start === null || end === null) return;
      const { ctx, chartArea, scales } = chartInstance;
      const left = Math.max(scales.x.getPixelForValue(start), chartArea.left);
      const right = Math.min(scales.x.getPixelForValue(end), chartArea.right);
      if (right <= left) return;
      ctx.save();
      ctx.fillStyle = "rgba(138, 75, 0, 0.08)";
      ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
      ctx.restore();
    },
  };
}

/** Draw the finding's chart into `canvas`; returns the Chart (call .destroy() when leaving).
 * `alertWindow` ({start, end}) is shaded. */
export function renderEvidenceChart(canvas, chart, alertWindow = null) {
  if (typeof window.Chart !== "function") {
    throw new Error("Chart.js is not loaded (web/vendor/chart.umd.min.js; run `make install`)");
  }
  const prices = pricesDataset(chart);
  const trades = tradeDatasets(chart);
  const ys = [...prices.data, ...trades.flatMap((d) => d.data)].map((p) => p.y);
  const datasets = [
    roundTripDataset(chart),
    ...trades.filter((d) => d.data.length > 0),
    announcementDataset(chart, ys),
    prices.data.length > 0 ? prices : null,
  ].filter(Boolean);
  return new window.Chart(canvas, {
    type: "scatter", // each dataset sets its own type; scatter gives linear x and y axes
    data: { datasets },
    plugins: [alertWindowPlugin(alertWindow)],
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: {
          type: "linear",
          title: {
            display: true,
            text: alertWindow ? "Time (UTC); shaded: the alert's window" : "Time (UTC)",
          },
          ticks: { maxTicksLimit: 6, callback: (value) => tickFormat.format(new Date(value)) },
        },
        y: { title: { display: true, text: "Price" } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: {
          callbacks: {
            title: (items) => tickFormat.format(new Date(items[0].parsed.x)),
            label: (item) => {
              const trade = item.raw.trade;
              if (trade) {
                return `${trade.side} ${trade.qty} @ ${trade.price} (${trade.account ?? ""} ${trade.trade_id ?? ""})`;
              }
              return `${item.dataset.label}: ${item.parsed.y}`;
            },
          },
        },
      },
    },
  });
}
