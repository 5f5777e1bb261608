#!/usr/bin/env node
// Generates the Grafana dashboards in deploy/grafana/dashboards/ from this one file, so every
// panel uses the same datasource, units and label joins. Run `node deploy/grafana/generate.mjs`
// after editing; a test (test/integration/metrics-grafana.test.ts) checks the JSON is up to date,
// valid, and uses only metrics the collector exports.
//
// Speeds are exported in bytes/s (Prometheus base unit); panels multiply by 8 and use Grafana's
// "bps" unit so people read Mbit/s. Titles are Vietnamese first, English after the slash.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATASOURCE_UID = 'hatang-prometheus';
const DS = { type: 'prometheus', uid: DATASOURCE_UID };

// --- PromQL fragments -------------------------------------------------------------------------
const districtName = 'on(district) group_left(name) hatang_unit_info{level="district"}';
const communeName = 'on(commune) group_left(name) hatang_unit_info{level="commune"}';
const median = (sel) => `hatang_unit_week_download_median_bytes_per_second{${sel}}`;
const target = (access = '$access') => `hatang_target_download_bytes_per_second{access="${access}"}`;
/** The statistics service's attainment: this week's median ÷ the year's target (1 = at target). */
const ofTarget = (sel) => `hatang_unit_week_attainment_ratio{${sel}}`;
const silentFor = '3 * 3600';

// --- panel builders -----------------------------------------------------------------------------
let nextId = 1;
function q(expr, o = {}) {
  return {
    datasource: DS,
    expr,
    refId: o.refId ?? 'A',
    legendFormat: o.legend ?? '',
    ...(o.instant ? { instant: true, range: false, format: 'table' } : { range: true, instant: false }),
  };
}
function panel(type, title, gridPos, targets, extra = {}) {
  return {
    id: nextId++,
    type,
    title,
    datasource: DS,
    gridPos,
    targets: targets.map((t, i) => ({ ...t, refId: String.fromCharCode(65 + i) })),
    ...extra,
  };
}
const thresholdsPct = {
  mode: 'absolute',
  steps: [
    { color: 'red', value: null },
    { color: 'orange', value: 0.8 },
    { color: 'green', value: 1 },
  ],
};
const green = { mode: 'absolute', steps: [{ color: 'green', value: null }] };

/** A dashed red "target" series override for time series panels. */
const targetOverride = (name) => ({
  matcher: { id: 'byName', options: name },
  properties: [
    { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.lineWidth', value: 2 },
    { id: 'custom.fillOpacity', value: 0 },
  ],
});
const TARGET = 'Chỉ tiêu / target';

function stat(title, gridPos, targets, unit, o = {}) {
  return panel('stat', title, gridPos, targets, {
    description: o.description ?? '',
    fieldConfig: {
      defaults: { unit, decimals: o.decimals, thresholds: o.thresholds ?? green, color: { mode: 'thresholds' } },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  });
}

function timeseries(title, gridPos, targets, unit, o = {}) {
  return panel('timeseries', title, gridPos, targets, {
    description: o.description ?? '',
    fieldConfig: {
      defaults: {
        unit,
        min: o.min,
        max: o.max,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, spanNulls: true, showPoints: 'never' },
      },
      overrides: o.overrides ?? [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  });
}

function bargauge(title, gridPos, targets, unit, o = {}) {
  return panel('bargauge', title, gridPos, targets, {
    description: o.description ?? '',
    fieldConfig: {
      defaults: { unit, min: 0, max: o.max, thresholds: o.thresholds ?? green, color: { mode: 'thresholds' } },
      overrides: [],
    },
    options: {
      orientation: 'horizontal',
      displayMode: 'gradient',
      showUnfilled: true,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  });
}

/** A table of instant queries merged on their shared labels; `columns` renames Value #A… and hides the rest. */
function table(title, gridPos, targets, columns, o = {}) {
  const rename = {};
  const units = [];
  const keep = new Set(Object.keys(columns));
  for (const [field, c] of Object.entries(columns)) {
    rename[field] = c.title;
    if (c.unit)
      units.push({
        matcher: { id: 'byName', options: c.title },
        properties: [
          { id: 'unit', value: c.unit },
          ...(c.thresholds
            ? [
                { id: 'thresholds', value: c.thresholds },
                { id: 'custom.cellOptions', value: { type: 'color-background' } },
              ]
            : []),
        ],
      });
  }
  return panel(
    'table',
    title,
    gridPos,
    targets.map((t) => ({ ...t, instant: true, range: false, format: 'table' })),
    {
      description: o.description ?? '',
      fieldConfig: { defaults: { custom: { align: 'auto' } }, overrides: units },
      options: { showHeader: true, sortBy: o.sortBy ? [{ displayName: o.sortBy, desc: o.desc ?? false }] : [] },
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: Object.fromEntries(
              ['Time', 'job', 'instance', '__name__', 'level'].filter((k) => !keep.has(k)).map((k) => [k, true]),
            ),
            renameByName: rename,
            indexByName: Object.fromEntries(Object.keys(columns).map((k, i) => [k, i])),
          },
        },
        { id: 'filterFieldsByName', options: { include: { names: Object.values(columns).map((c) => c.title) } } },
      ],
    },
  );
}

// --- variables ----------------------------------------------------------------------------------
const accessVar = {
  name: 'access',
  label: 'Loại truy nhập / Access',
  type: 'custom',
  query: 'fixed,mobile',
  current: { text: 'fixed', value: 'fixed' },
  options: [
    { text: 'fixed', value: 'fixed', selected: true },
    { text: 'mobile', value: 'mobile', selected: false },
  ],
  multi: false,
  includeAll: false,
};
const districtVar = {
  name: 'district',
  label: 'Huyện / District',
  type: 'query',
  datasource: DS,
  definition: 'query_result(hatang_unit_info{level="district"})',
  query: { query: 'query_result(hatang_unit_info{level="district"})', refId: 'district' },
  // value = the GSO code, text = the unit's name.
  regex: '/district="(?<value>[^"]*)".*name="(?<text>[^"]*)"/',
  refresh: 2,
  sort: 1,
  multi: false,
  includeAll: false,
};
const agentVar = {
  name: 'agent',
  label: 'Trạm đo / Agent',
  type: 'query',
  datasource: DS,
  definition: 'label_values(hatang_agent_last_seen_timestamp_seconds, agent)',
  query: { query: 'label_values(hatang_agent_last_seen_timestamp_seconds, agent)', refId: 'agent' },
  refresh: 2,
  sort: 1,
  multi: false,
  includeAll: false,
};

function dashboard(uid, title, description, panels, vars, time = 'now-12w') {
  return {
    uid,
    title,
    description,
    tags: ['hatang'],
    timezone: 'Asia/Ho_Chi_Minh',
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    refresh: '5m',
    time: { from: time, to: 'now' },
    templating: { list: vars },
    annotations: { list: [] },
    links: [
      { type: 'dashboards', tags: ['hatang'], asDropdown: true, title: 'hatang', includeVars: true, keepTime: true },
    ],
    panels,
  };
}

// --- 1. province overview -----------------------------------------------------------------------
function province() {
  nextId = 1;
  const panels = [
    stat(
      'Trung vị tuần này của tỉnh / Province median this week',
      { h: 5, w: 6, x: 0, y: 0 },
      [q(`${median('level="province",access="$access"')} * 8`)],
      'bps',
      { description: 'Median download speed of all speed tests this ISO week (Asia/Ho_Chi_Minh).' },
    ),
    stat(TARGET, { h: 5, w: 6, x: 6, y: 0 }, [q(`${target()} * 8`)], 'bps', {
      description: "The plan's target for this year and access type.",
    }),
    stat(
      'Đạt % chỉ tiêu / % of target',
      { h: 5, w: 4, x: 12, y: 0 },
      [q(ofTarget('level="province",access="$access"'))],
      'percentunit',
      { thresholds: thresholdsPct, decimals: 0 },
    ),
    stat(
      'Trạm đo đang báo cáo / Agents reporting',
      { h: 5, w: 4, x: 16, y: 0 },
      [q(`count(time() - hatang_agent_last_seen_timestamp_seconds < ${silentFor}) or vector(0)`)],
      'none',
      { description: 'Agents that delivered results in the last 3 hours.' },
    ),
    stat(
      'Trạm đo im lặng > 3 giờ / Silent agents',
      { h: 5, w: 4, x: 20, y: 0 },
      [q(`count(time() - hatang_agent_last_seen_timestamp_seconds > ${silentFor}) or vector(0)`)],
      'none',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'red', value: 1 },
          ],
        },
      },
    ),
    bargauge(
      'Các huyện so với chỉ tiêu (tuần này) / Districts against the target (this week)',
      { h: 10, w: 12, x: 0, y: 5 },
      [q(`${ofTarget('level="district",access="$access"')} * ${districtName}`, { legend: '{{name}}' })],
      'percentunit',
      {
        thresholds: thresholdsPct,
        max: 1.5,
        description:
          "Each district's median download this week as a share of the plan's target: green at or above, orange from 80 %, red below.",
      },
    ),
    table(
      'Các huyện / Districts (this week)',
      { h: 10, w: 12, x: 12, y: 5 },
      [
        q(`${median('level="district",access="$access"')} * 8 * ${districtName}`),
        q(`${ofTarget('level="district",access="$access"')} * ${districtName}`),
        q(`hatang_unit_week_samples{level="district",access="$access"} * ${districtName}`),
        q(`hatang_unit_recent_weeks_below_target{level="district",access="$access"} * ${districtName}`),
      ],
      {
        name: { title: 'Huyện / District' },
        district: { title: 'Mã / Code' },
        'Value #A': { title: 'Trung vị / Median', unit: 'bps' },
        'Value #B': { title: '% chỉ tiêu / % of target', unit: 'percentunit', thresholds: thresholdsPct },
        'Value #C': { title: 'Số mẫu / Samples', unit: 'none' },
        'Value #D': { title: 'Tuần dưới chỉ tiêu / Weeks below', unit: 'none' },
      },
      { sortBy: '% chỉ tiêu / % of target' },
    ),
    timeseries(
      'Xu hướng trung vị theo huyện / District median trend',
      { h: 10, w: 24, x: 0, y: 15 },
      [
        q(`${median('level="district",access="$access"')} * 8 * ${districtName}`, { legend: '{{name}}' }),
        q(`${target()} * 8`, { legend: TARGET }),
      ],
      'bps',
      {
        overrides: [targetOverride(TARGET)],
        min: 0,
        description: "Each district's current-week median as it built up over time, with the year's target.",
      },
    ),
    panel(
      'heatmap',
      'Phân bố tốc độ tải xuống / Download speed distribution',
      { h: 10, w: 24, x: 0, y: 25 },
      [
        {
          ...q(
            `sum by (le) (increase(hatang_speed_test_download_bytes_per_second_bucket{access="$access"}[$__rate_interval]))`,
            { legend: '{{le}}' },
          ),
          format: 'heatmap',
        },
      ],
      {
        description:
          'Speed tests per bucket (bytes/s edges; × 8 for bit/s). Bucket edges sit at the targets and 0.8 × the targets.',
        options: { calculate: false, yAxis: { unit: 'Bps' }, cellGap: 1, color: { mode: 'scheme', scheme: 'Oranges' } },
      },
    ),
  ];
  return dashboard(
    'hatang-province',
    'hatang — Tổng quan tỉnh / Province overview',
    'Districts against the plan’s download targets, this week and over time.',
    panels,
    [accessVar],
  );
}

// --- 2. district drill-down ---------------------------------------------------------------------
function district() {
  nextId = 1;
  const sel = (level) => `level="${level}",district="$district",access="$access"`;
  const panels = [
    stat(
      'Trung vị tuần này / Median this week',
      { h: 5, w: 6, x: 0, y: 0 },
      [q(`${median(sel('district'))} * 8`)],
      'bps',
    ),
    stat(TARGET, { h: 5, w: 6, x: 6, y: 0 }, [q(`${target()} * 8`)], 'bps'),
    stat('Đạt % chỉ tiêu / % of target', { h: 5, w: 4, x: 12, y: 0 }, [q(ofTarget(sel('district')))], 'percentunit', {
      thresholds: thresholdsPct,
      decimals: 0,
    }),
    stat(
      'Xã dưới chỉ tiêu / Communes below target',
      { h: 5, w: 4, x: 16, y: 0 },
      [q(`count(hatang_unit_week_attained{${sel('commune')}} == 0) or vector(0)`)],
      'none',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'orange', value: 1 },
          ],
        },
      },
    ),
    stat(
      'Trạm đo im lặng / Silent agents',
      { h: 5, w: 4, x: 20, y: 0 },
      [q(`count(time() - hatang_agent_last_seen_timestamp_seconds{district="$district"} > ${silentFor}) or vector(0)`)],
      'none',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'red', value: 1 },
          ],
        },
      },
    ),
    table(
      'Các xã (tuần này) / Communes (this week)',
      { h: 12, w: 24, x: 0, y: 5 },
      [
        q(`${median(sel('commune'))} * 8 * ${communeName}`),
        q(`${ofTarget(sel('commune'))} * ${communeName}`),
        q(`hatang_unit_week_samples{${sel('commune')}} * ${communeName}`),
        q(`hatang_unit_recent_weeks_below_target{${sel('commune')}} * ${communeName}`),
      ],
      {
        name: { title: 'Xã / Commune' },
        commune: { title: 'Mã / Code' },
        'Value #A': { title: 'Trung vị / Median', unit: 'bps' },
        'Value #B': { title: '% chỉ tiêu / % of target', unit: 'percentunit', thresholds: thresholdsPct },
        'Value #C': { title: 'Số mẫu / Samples', unit: 'none' },
        'Value #D': { title: 'Tuần dưới chỉ tiêu / Weeks below', unit: 'none' },
      },
      {
        sortBy: '% chỉ tiêu / % of target',
        description: 'Sorted by shortfall: the communes furthest below the target come first.',
      },
    ),
    timeseries(
      'Xu hướng theo xã / Commune trends',
      { h: 10, w: 24, x: 0, y: 17 },
      [
        q(`${median(sel('commune'))} * 8 * ${communeName}`, { legend: '{{name}}' }),
        q(`${median(sel('district'))} * 8`, { legend: 'Cả huyện / whole district' }),
        q(`${target()} * 8`, { legend: TARGET }),
      ],
      'bps',
      { overrides: [targetOverride(TARGET)], min: 0 },
    ),
    table(
      'Trạm đo trong huyện / Agents in the district',
      { h: 10, w: 24, x: 0, y: 27 },
      [
        q(`(time() - hatang_agent_last_seen_timestamp_seconds{district="$district"})`),
        q(`hatang_agent_download_bytes_per_second{district="$district"} * 8`),
        q(`hatang_agent_upload_bytes_per_second{district="$district"} * 8`),
        q(`hatang_agent_latency_seconds{district="$district"}`),
        q(`hatang_agent_ipv6_status{district="$district"}`),
      ],
      {
        agent: { title: 'Trạm đo / Agent' },
        commune: { title: 'Xã / Commune' },
        access: { title: 'Truy nhập / Access' },
        isp: { title: 'Nhà mạng / ISP' },
        'Value #A': {
          title: 'Lần cuối / Last seen (ago)',
          unit: 's',
          thresholds: {
            mode: 'absolute',
            steps: [
              { color: 'green', value: null },
              { color: 'red', value: 10800 },
            ],
          },
        },
        'Value #B': { title: 'Tải xuống / Download', unit: 'bps' },
        'Value #C': { title: 'Tải lên / Upload', unit: 'bps' },
        'Value #D': { title: 'Độ trễ / Latency', unit: 's' },
        'Value #E': { title: 'IPv6', unit: 'bool_yes_no' },
      },
      { sortBy: 'Lần cuối / Last seen (ago)', desc: true },
    ),
    panel(
      'heatmap',
      'Phân bố tốc độ trong huyện / Speed distribution in the district',
      { h: 10, w: 24, x: 0, y: 37 },
      [
        {
          ...q(
            `sum by (le) (increase(hatang_speed_test_download_bytes_per_second_bucket{district="$district",access="$access"}[$__rate_interval]))`,
            { legend: '{{le}}' },
          ),
          format: 'heatmap',
        },
      ],
      {
        options: { calculate: false, yAxis: { unit: 'Bps' }, cellGap: 1, color: { mode: 'scheme', scheme: 'Oranges' } },
      },
    ),
  ];
  return dashboard(
    'hatang-district',
    'hatang — Huyện / District',
    'Communes of one district against the target; trends with the target line; the district’s agents.',
    panels,
    [districtVar, accessVar],
  );
}

// --- 3. agent detail --------------------------------------------------------------------------
function agent() {
  nextId = 1;
  const a = 'agent="$agent"';
  const panels = [
    stat(
      'Lần cuối gửi / Last seen (ago)',
      { h: 4, w: 4, x: 0, y: 0 },
      [q(`time() - hatang_agent_last_seen_timestamp_seconds{${a}}`)],
      's',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'red', value: 10800 },
          ],
        },
      },
    ),
    stat(
      'Tải xuống / Download',
      { h: 4, w: 4, x: 4, y: 0 },
      [q(`hatang_agent_download_bytes_per_second{${a}} * 8`)],
      'bps',
    ),
    stat('Tải lên / Upload', { h: 4, w: 4, x: 8, y: 0 }, [q(`hatang_agent_upload_bytes_per_second{${a}} * 8`)], 'bps'),
    stat('Độ trễ / Latency', { h: 4, w: 3, x: 12, y: 0 }, [q(`hatang_agent_latency_seconds{${a}}`)], 's'),
    stat('Jitter', { h: 4, w: 3, x: 15, y: 0 }, [q(`hatang_agent_jitter_seconds{${a}}`)], 's'),
    stat(
      'Mất gói UDP / UDP loss',
      { h: 4, w: 3, x: 18, y: 0 },
      [q(`hatang_agent_udp_loss_ratio{${a}}`)],
      'percentunit',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'orange', value: 0.01 },
            { color: 'red', value: 0.05 },
          ],
        },
      },
    ),
    stat('IPv6', { h: 4, w: 3, x: 21, y: 0 }, [q(`hatang_agent_ipv6_status{${a}}`)], 'bool_yes_no', {
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'red', value: null },
          { color: 'green', value: 1 },
        ],
      },
    }),
    timeseries(
      'Tốc độ / Speed',
      { h: 10, w: 24, x: 0, y: 4 },
      [
        q(`hatang_agent_download_bytes_per_second{${a}} * 8`, { legend: 'Tải xuống / download' }),
        q(`hatang_agent_upload_bytes_per_second{${a}} * 8`, { legend: 'Tải lên / upload' }),
        q(`hatang_target_download_bytes_per_second * 8 and on(access) hatang_agent_last_seen_timestamp_seconds{${a}}`, {
          legend: TARGET,
        }),
      ],
      'bps',
      {
        overrides: [targetOverride(TARGET)],
        min: 0,
        description: 'Each point is the latest test at that time; the line steps when a new test arrives.',
      },
    ),
    timeseries(
      'Độ trễ và jitter / Latency and jitter',
      { h: 8, w: 12, x: 0, y: 14 },
      [
        q(`hatang_agent_latency_seconds{${a}}`, { legend: 'Độ trễ / latency' }),
        q(`hatang_agent_jitter_seconds{${a}}`, { legend: 'jitter' }),
      ],
      's',
      { min: 0 },
    ),
    timeseries(
      'Mất gói UDP / UDP loss',
      { h: 8, w: 12, x: 12, y: 14 },
      [q(`hatang_agent_udp_loss_ratio{${a}}`, { legend: 'loss' })],
      'percentunit',
      { min: 0 },
    ),
    timeseries(
      'Kết quả bị từ chối / Rejected results',
      { h: 8, w: 24, x: 0, y: 22 },
      [q(`sum by (code) (increase(hatang_ingest_rejected_results_total{${a}}[1h]))`, { legend: '{{code}}' })],
      'none',
      {
        min: 0,
        description: 'Results of this agent the collector rejected, per hour, by error code (docs/errors.md).',
      },
    ),
  ];
  return dashboard(
    'hatang-agent',
    'hatang — Trạm đo / Agent',
    'One agent: latest speeds against the target, latency, loss, IPv6, rejections.',
    panels,
    [agentVar],
    'now-7d',
  );
}

// --- 4. IPv6 ----------------------------------------------------------------------------------
function ipv6() {
  nextId = 1;
  const share = (by) =>
    by
      ? `sum by (${by}) (hatang_agent_ipv6_status) / count by (${by}) (hatang_agent_ipv6_status)`
      : 'sum(hatang_agent_ipv6_status) / count(hatang_agent_ipv6_status)';
  const panels = [
    stat('Trạm đo có IPv6 / Agents with IPv6', { h: 5, w: 8, x: 0, y: 0 }, [q(share())], 'percentunit', {
      thresholds: thresholdsPct,
      decimals: 0,
      description: 'Share of agents whose latest IPv6 check found working IPv6.',
    }),
    stat(
      'Có IPv6 / With IPv6',
      { h: 5, w: 8, x: 8, y: 0 },
      [q('count(hatang_agent_ipv6_status == 1) or vector(0)')],
      'none',
    ),
    stat(
      'Không có IPv6 / Without IPv6',
      { h: 5, w: 8, x: 16, y: 0 },
      [q('count(hatang_agent_ipv6_status == 0) or vector(0)')],
      'none',
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'orange', value: 1 },
          ],
        },
      },
    ),
    bargauge(
      'IPv6 theo huyện / IPv6 by district',
      { h: 10, w: 12, x: 0, y: 5 },
      [q(`(${share('district')}) * ${districtName}`, { legend: '{{name}}' })],
      'percentunit',
      { thresholds: thresholdsPct, max: 1 },
    ),
    timeseries(
      'Tỷ lệ có IPv6 theo thời gian / IPv6 share over time',
      { h: 10, w: 12, x: 12, y: 5 },
      [q(share(), { legend: 'Toàn tỉnh / province' }), q(`(${share('access')})`, { legend: '{{access}}' })],
      'percentunit',
      { min: 0, max: 1 },
    ),
    bargauge(
      'Hệ thống truy cập được qua IPv6 / Systems reachable over IPv6',
      { h: 10, w: 12, x: 0, y: 15 },
      [q('hatang_ipv6_target_reachable_ratio', { legend: '{{target}}' })],
      'percentunit',
      {
        thresholds: thresholdsPct,
        max: 1,
        description:
          'For each configured target (provincial portal, public-service portal, the collector…): the share of agents whose latest check reached it over IPv6 only.',
      },
    ),
    timeseries(
      'Truy cập IPv6 theo hệ thống / Reachability over time',
      { h: 10, w: 12, x: 12, y: 15 },
      [q('hatang_ipv6_target_reachable_ratio', { legend: '{{target}}' })],
      'percentunit',
      { min: 0, max: 1 },
    ),
    table(
      'Trạm đo không có IPv6 / Agents without IPv6',
      { h: 10, w: 24, x: 0, y: 25 },
      [q('hatang_agent_ipv6_status == 0')],
      {
        agent: { title: 'Trạm đo / Agent' },
        commune: { title: 'Xã / Commune' },
        district: { title: 'Huyện / District' },
        access: { title: 'Truy nhập / Access' },
        isp: { title: 'Nhà mạng / ISP' },
      },
    ),
  ];
  return dashboard(
    'hatang-ipv6',
    'hatang — IPv6',
    'IPv6 readiness from every commune’s own line.',
    panels,
    [],
    'now-12w',
  );
}

// --- 5. operations ------------------------------------------------------------------------------
function operations() {
  nextId = 1;
  const panels = [
    timeseries(
      'Kết quả nhận / Results ingested',
      { h: 8, w: 12, x: 0, y: 0 },
      [q('sum by (outcome) (rate(hatang_ingest_results_total[$__rate_interval]))', { legend: '{{outcome}}' })],
      'reqps',
      { min: 0 },
    ),
    timeseries(
      'Bị từ chối theo mã / Rejected by code',
      { h: 8, w: 12, x: 12, y: 0 },
      [q('sum by (code) (rate(hatang_ingest_rejected_results_total[$__rate_interval]))', { legend: '{{code}}' })],
      'reqps',
      { min: 0 },
    ),
    timeseries(
      'Thời gian phản hồi p95 / HTTP p95 by route',
      { h: 8, w: 12, x: 0, y: 8 },
      [
        q(
          'histogram_quantile(0.95, sum by (le, route) (rate(hatang_http_request_duration_seconds_bucket[$__rate_interval])))',
          { legend: '{{route}}' },
        ),
      ],
      's',
      { min: 0 },
    ),
    timeseries(
      'Yêu cầu HTTP / HTTP requests by status',
      { h: 8, w: 12, x: 12, y: 8 },
      [
        q('sum by (status_code) (rate(hatang_http_request_duration_seconds_count[$__rate_interval]))', {
          legend: '{{status_code}}',
        }),
      ],
      'reqps',
      { min: 0 },
    ),
    timeseries(
      'Bài đo đang chạy / Speed tests running',
      { h: 8, w: 8, x: 0, y: 16 },
      [q('sum by (instance, endpoint) (hatang_speedtest_running)', { legend: '{{instance}} {{endpoint}}' })],
      'none',
      { min: 0 },
    ),
    timeseries(
      'Lưu lượng điểm đo / Speed-test traffic',
      { h: 8, w: 8, x: 8, y: 16 },
      [
        q('sum by (instance) (rate(hatang_speedtest_sent_bytes_total[$__rate_interval])) * 8', {
          legend: '{{instance}} sent',
        }),
        q('sum by (instance) (rate(hatang_speedtest_received_bytes_total[$__rate_interval])) * 8', {
          legend: '{{instance}} received',
        }),
      ],
      'bps',
      { min: 0 },
    ),
    timeseries(
      'Kết quả theo máy chủ đo / Tests by test server',
      { h: 8, w: 8, x: 16, y: 16 },
      [q('sum by (server, status) (increase(hatang_server_tests_total[1h]))', { legend: '{{server}} {{status}}' })],
      'none',
      { min: 0 },
    ),
    timeseries(
      'CPU',
      { h: 8, w: 8, x: 0, y: 24 },
      [q('rate(process_cpu_seconds_total{job=~"hatang.*"}[$__rate_interval])', { legend: '{{instance}}' })],
      'percentunit',
      { min: 0 },
    ),
    timeseries(
      'Bộ nhớ / Memory (RSS)',
      { h: 8, w: 8, x: 8, y: 24 },
      [q('process_resident_memory_bytes{job=~"hatang.*"}', { legend: '{{instance}}' })],
      'bytes',
      { min: 0 },
    ),
    timeseries(
      'Thời gian đọc CSDL cho /metrics / Metrics DB read time',
      { h: 8, w: 8, x: 16, y: 24 },
      [q('hatang_metrics_collect_duration_seconds', { legend: '{{part}}' })],
      's',
      { min: 0 },
    ),
  ];
  return dashboard(
    'hatang-operations',
    'hatang — Vận hành / Operations',
    'Ingest, HTTP, speed-test servers and the collector process.',
    panels,
    [],
    'now-24h',
  );
}

export function dashboards() {
  return {
    'province-overview.json': province(),
    'district.json': district(),
    'agent.json': agent(),
    'ipv6.json': ipv6(),
    'operations.json': operations(),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(here, 'dashboards');
  mkdirSync(out, { recursive: true });
  for (const [file, d] of Object.entries(dashboards())) {
    writeFileSync(join(out, file), `${JSON.stringify(d, null, 2)}\n`);
    console.log(`wrote ${join('deploy/grafana/dashboards', file)} (${d.panels.length} panels)`);
  }
}
