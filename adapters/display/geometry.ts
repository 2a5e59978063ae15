/**
 * Whole-pixel rectangles. Everything on the panel is placed on integer
 * coordinates so QR modules and text never straddle a pixel edge.
 */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function rect(x: number, y: number, width: number, height: number): Rect {
  return { x, y, width: Math.max(0, width), height: Math.max(0, height) };
}

export function isEmpty(r: Rect): boolean {
  return r.width <= 0 || r.height <= 0;
}

export function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height && !isEmpty(a) && !isEmpty(b);
}

export function contains(outer: Rect, inner: Rect): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
}

export function union(a: Rect, b: Rect): Rect {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return rect(x, y, Math.max(a.x + a.width, b.x + b.width) - x, Math.max(a.y + a.height, b.y + b.height) - y);
}

export function inset(r: Rect, dx: number, dy = dx): Rect {
  return rect(r.x + dx, r.y + dy, r.width - 2 * dx, r.height - 2 * dy);
}

/** Splits off the top `height` pixels: [top, rest]. */
export function splitTop(r: Rect, height: number): [Rect, Rect] {
  const h = Math.min(r.height, Math.max(0, height));
  return [rect(r.x, r.y, r.width, h), rect(r.x, r.y + h, r.width, r.height - h)];
}

/** Splits off the left `width` pixels: [left, rest]. */
export function splitLeft(r: Rect, width: number): [Rect, Rect] {
  const w = Math.min(r.width, Math.max(0, width));
  return [rect(r.x, r.y, w, r.height), rect(r.x + w, r.y, r.width - w, r.height)];
}

/** A `width` x `height` rectangle centred in `r`, on whole pixels. */
export function centred(r: Rect, width: number, height: number): Rect {
  return rect(r.x + Math.floor((r.width - width) / 2), r.y + Math.floor((r.height - height) / 2), width, height);
}
