// The tiling rule: a level is cut into a grid of tileSize x tileSize squares anchored at (0, 0);
// only squares holding at least one target patch centre are tiles, numbered in raster order of
// the grid. The rule sees the level's size, its hole and the options, never the machine, so
// every topology runs the same tiles.

/** Tile rects (x0, y0, x1, y1, end-exclusive) of the tiles holding a set pixel of `targets`. */
export function cutTiles(targets: Uint8Array, width: number, height: number, tileSize: number): Int32Array {
  const cols = Math.ceil(width / tileSize);
  const rows = Math.ceil(height / tileSize);
  const used = new Uint8Array(cols * rows);
  for (let y = 0; y < height; y++) {
    const row = ((y / tileSize) | 0) * cols;
    const o = y * width;
    for (let x = 0; x < width; x++) if (targets[o + x]) used[row + ((x / tileSize) | 0)] = 1;
  }
  const rects: number[] = [];
  for (let ty = 0; ty < rows; ty++) {
    for (let tx = 0; tx < cols; tx++) {
      if (!used[ty * cols + tx]) continue;
      rects.push(tx * tileSize, ty * tileSize, Math.min((tx + 1) * tileSize, width), Math.min((ty + 1) * tileSize, height));
    }
  }
  return Int32Array.from(rects);
}

export function tileCount(tiles: Int32Array): number {
  return tiles.length >> 2;
}
