// The tiling rule: a level is cut into a grid of S x S squares anchored at (0, 0); only squares
// holding at least one target patch centre are tiles, numbered in raster order of the grid.
// S starts at options.tileSize and halves (not below MIN_TILE_SIZE) while the level would have
// fewer than MIN_TILES tiles, so small coarse levels still spread over several threads or nodes.
// The rule sees the level's size, its hole and the options, never the machine, so every
// topology runs the same tiles.

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

export const MIN_TILES = 8;
export const MIN_TILE_SIZE = 16;

/** The tiles of a level by the rule above. */
export function tileLevel(targets: Uint8Array, width: number, height: number, tileSize: number): Int32Array {
  let size = tileSize;
  let tiles = cutTiles(targets, width, height, size);
  while (tiles.length >> 2 < MIN_TILES && size > MIN_TILE_SIZE) {
    size = Math.max(MIN_TILE_SIZE, size >> 1);
    tiles = cutTiles(targets, width, height, size);
  }
  return tiles;
}

export function tileCount(tiles: Int32Array): number {
  return tiles.length >> 2;
}
