// The three prom-client modules metrics.ts loads, typed by the package's own index.d.ts. Its index.js would also
// load the Pushgateway (https, zlib), the cluster aggregator and the default collectors (with @opentelemetry/api):
// builtins the daemon otherwise never loads (issue 12, README "Performance"), for features /metrics does not use.
declare module 'prom-client/lib/registry.js' {
  import type { Registry } from 'prom-client';
  const registry: typeof Registry;
  export default registry;
}
declare module 'prom-client/lib/gauge.js' {
  import type { Gauge } from 'prom-client';
  const gauge: typeof Gauge;
  export default gauge;
}
declare module 'prom-client/lib/counter.js' {
  import type { Counter } from 'prom-client';
  const counter: typeof Counter;
  export default counter;
}
