// Loaded into the attache process under measurement with `node --expose-gc --import bench/large/probe.mjs`
// (bench/large-messages.mjs starts it with an IPC channel). On 'begin' it forces a full GC and starts
// v8.GCProfiler; on 'end' it answers the bytes allocated on V8's heap in between: the sum over every GC of
// (used before − used after), plus the growth since 'begin'. This counts every object allocated, garbage
// included, exactly (V8 frees nothing between GCs), and costs nothing per allocation, unlike a sampling
// profiler. Buffer contents (ArrayBuffer backing stores) live outside V8's heap and are not in it: the RSS
// figures of the benchmark cover them. 'rss' answers process.memoryUsage() after a full GC.
import v8 from 'node:v8';

if (typeof process.send === 'function') {
  let prof;
  let startUsed = 0;
  const used = () => v8.getHeapStatistics().used_heap_size;
  process.on('message', (m) => {
    if (m === null || typeof m !== 'object' || typeof m.probe !== 'string') return;
    if (m.probe === 'begin') {
      globalThis.gc?.();
      startUsed = used();
      prof = new v8.GCProfiler();
      prof.start();
      process.send({ probe: 'begin' });
    } else if (m.probe === 'end') {
      const { statistics } = prof.stop();
      let freed = 0;
      for (const g of statistics) freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
      process.send({ probe: 'end', allocated: freed + used() - startUsed, gcs: statistics.length });
    } else if (m.probe === 'rss') {
      globalThis.gc?.();
      process.send({ probe: 'rss', memory: process.memoryUsage() });
    }
  });
  // The IPC channel must not keep attache alive at shutdown.
  process.channel?.unref();
}
