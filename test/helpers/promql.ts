// Metric names a PromQL expression (or any text) mentions: ours and the process/runtime ones.
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:hatang|process|nodejs)_[a-zA-Z0-9_]*)\b/g)].map((m) => m[1] as string);
}
