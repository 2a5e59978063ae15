/**
 * A small least-recently-used map. Every cache on the drawing path is one of
 * these so that memory stays flat however many sales the device shows.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly onEvict?: (value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the young end of the Map's order.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const evicted = this.entries.get(oldest.value);
      this.entries.delete(oldest.value);
      if (evicted !== undefined) this.onEvict?.(evicted);
    }
  }

  getOrCreate(key: K, create: () => V): V {
    const found = this.get(key);
    if (found !== undefined) return found;
    const value = create();
    this.set(key, value);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Gives an evicted canvas's pixel memory back at once. node-canvas frees a
 * surface only when its finalizer runs, which waits for both a garbage
 * collection and a turn of the event loop; shrinking the canvas frees the
 * old surface immediately, so memory stays flat however frames are driven.
 */
export function releaseCanvas(canvas: { width: number; height: number }): void {
  canvas.width = 1;
  canvas.height = 1;
}

