// The console's floor editor: the space's objects where every space page draws them, moved
// by dragging (pointer: mouse, pen, touch) or with the keyboard (arrow keys: 10 floor
// units, with Shift 1), each move saved as the object's position. The object form's X and
// Y fields are the third way, for exact numbers.
import type { ObjectDef, Position } from "../../../crates/protocol/bindings/protocol";
import { FLOOR_HEIGHT, FLOOR_WIDTH, RANGE, onFloor, spots } from "../layout";

/** How long after the last arrow key a keyboard move is saved (one request, not one per key). */
const KEY_SAVE_MS = 400;

export interface FloorEditor {
  /** Draws `objects` (all of the space's, the floor object left out by the caller). */
  show(objects: readonly ObjectDef[]): void;
}

/**
 * Mounts the editor in `root` (a focusable list of objects on a scaled floor). `save`
 * stores a new position and resolves once stored; `announce` speaks where an object went.
 */
export function mountFloor(root: HTMLElement, save: (id: string, at: Position) => Promise<void>, announce: (text: string) => void): FloorEditor {
  const floor = document.createElement("div");
  floor.className = "floor";
  floor.setAttribute("role", "list");
  floor.setAttribute("aria-label", "Objects on the floor");
  root.append(floor);
  let scale = 1;
  const fit = () => {
    scale = Math.min(1, root.clientWidth / FLOOR_WIDTH) || 1;
    floor.style.width = `${FLOOR_WIDTH}px`;
    floor.style.height = `${FLOOR_HEIGHT}px`;
    floor.style.transform = scale === 1 ? "" : `scale(${scale})`;
    root.style.height = `${Math.round(FLOOR_HEIGHT * scale)}px`;
  };
  new ResizeObserver(fit).observe(root);
  fit();

  const put = (node: HTMLElement, at: Position) => {
    node.style.left = `${at.x}px`;
    node.style.top = `${at.y}px`;
    node.dataset.x = String(at.x);
    node.dataset.y = String(at.y);
  };
  const describe = (name: string, at: Position, placed: boolean) =>
    `${name}, at ${at.x}, ${at.y}${placed ? "" : " (not placed yet)"}. Drag it, or use the arrow keys to move it.`;

  function item(def: ObjectDef, at: Position, placed: boolean): HTMLElement {
    const wrap = document.createElement("div");
    wrap.setAttribute("role", "listitem");
    const range = document.createElement("div");
    range.className = "range";
    const node = document.createElement("button");
    node.type = "button";
    node.className = placed ? "fobj" : "fobj unplaced";
    node.dataset.object = def.id;
    node.textContent = def.name;
    node.setAttribute("aria-label", describe(def.name, at, placed));
    const move = (to: Position) => {
      put(node, to);
      range.style.left = `${to.x - RANGE}px`;
      range.style.top = `${to.y - RANGE}px`;
    };
    move(at);
    let current = at;
    const commit = (to: Position) => {
      node.classList.add("saving");
      save(def.id, to)
        .then(() => {
          current = to;
          node.classList.remove("unplaced");
          node.setAttribute("aria-label", describe(def.name, to, true));
          announce(`${def.name} moved to ${to.x}, ${to.y}.`);
        })
        .catch(() => move(current))
        .finally(() => node.classList.remove("saving"));
    };

    // Dragging: the pointer is captured, the object follows it, the position is saved on release.
    let drag: { id: number; dx: number; dy: number; moved: boolean } | undefined;
    node.addEventListener("pointerdown", (e) => {
      const box = floor.getBoundingClientRect();
      drag = { id: e.pointerId, dx: (e.clientX - box.left) / scale - current.x, dy: (e.clientY - box.top) / scale - current.y, moved: false };
      node.setPointerCapture(e.pointerId);
      e.preventDefault();
      node.focus();
    });
    node.addEventListener("pointermove", (e) => {
      if (!drag || drag.id !== e.pointerId) return;
      const box = floor.getBoundingClientRect();
      drag.moved = true;
      move(onFloor((e.clientX - box.left) / scale - drag.dx, (e.clientY - box.top) / scale - drag.dy));
    });
    const release = (e: PointerEvent) => {
      if (!drag || drag.id !== e.pointerId) return;
      const moved = drag.moved;
      drag = undefined;
      if (moved) commit({ x: Number(node.dataset.x), y: Number(node.dataset.y) });
    };
    node.addEventListener("pointerup", release);
    node.addEventListener("pointercancel", (e) => {
      drag = undefined;
      if (e.pointerId !== undefined) move(current);
    });

    // The keyboard: arrows move, the move is saved shortly after the last key.
    let timer: ReturnType<typeof setTimeout> | undefined;
    node.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 1 : 10;
      const d: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const v = d[e.key];
      if (!v) return;
      e.preventDefault();
      move(onFloor(Number(node.dataset.x) + v[0], Number(node.dataset.y) + v[1]));
      clearTimeout(timer);
      timer = setTimeout(() => commit({ x: Number(node.dataset.x), y: Number(node.dataset.y) }), KEY_SAVE_MS);
    });
    wrap.append(range, node);
    return wrap;
  }

  return {
    show(objects) {
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.object;
      const at = spots(objects);
      floor.replaceChildren(
        ...objects.map((d) => {
          const s = at.get(d.id)!;
          return item(d, { x: s.x, y: s.y }, s.placed);
        }),
      );
      if (focused) floor.querySelector<HTMLElement>(`[data-object="${CSS.escape(focused)}"]`)?.focus();
    },
  };
}
