/**
 * The queries a Grafana board JSON holds, and each as plain PromQL: what Grafana sends to
 * Prometheus once it has replaced its own variables. Used by the tests that check the board.
 */

export interface BoardQuery {
  panel: string;
  refId: string;
  /** As written on the board (with `$__rate_interval`, …). */
  expr: string;
  /** The panel's threshold steps (null: the base colour). */
  thresholds: (number | null)[];
}

interface PanelJson {
  type: string;
  title: string;
  targets?: { refId?: string; expr?: string }[];
  fieldConfig?: { defaults?: { thresholds?: { steps?: { value: number | null }[] } } };
  panels?: PanelJson[];
}

/** Every Prometheus target of every panel (rows' nested panels included). */
export function boardQueries(board: { panels?: PanelJson[] }): BoardQuery[] {
  const panels = (board.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({
    panel: p.title,
    refId: t.refId ?? '',
    expr: t.expr ?? '',
    thresholds: p.fieldConfig?.defaults?.thresholds?.steps?.map((s) => s.value) ?? [],
  })));
}

/**
 * Grafana's variables replaced as Grafana would for a given scrape interval: `$__rate_interval`
 * (at least four scrapes), `$__interval` and `$__range`. Template variables, if a board gets any,
 * are replaced from `variables` (a variable left unreplaced is an error).
 */
export function toPromQL(expr: string, o: { rateInterval: string; interval: string; range: string; variables?: Record<string, string> }): string {
  const replaced = expr
    .replaceAll('$__rate_interval', o.rateInterval)
    .replaceAll('$__interval', o.interval)
    .replaceAll('$__range', o.range)
    .replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
      const value = o.variables?.[name];
      if (value === undefined) throw new Error(`unknown board variable ${whole} in ${expr}`);
      return value;
    });
  return replaced;
}
