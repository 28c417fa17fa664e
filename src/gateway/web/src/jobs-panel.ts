// "My jobs": the caller's jobs, newest first, with status, progress and a thumbnail (the result,
// else the latest preview, else the photo). Opening one follows it live on the stage.
import type { Api } from './api.ts';
import { h } from './dom.ts';
import { JOBS, type Job } from './queries.ts';

const STATUS_TEXT: Record<Job['status'], string> = { QUEUED: 'Queued', RUNNING: 'Running', PAUSED: 'Paused', COMPLETED: 'Done', FAILED: 'Failed', CANCELED: 'Canceled' };

function when(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export class JobsPanel {
  readonly #api: Api;
  readonly #drawer: HTMLElement;
  readonly #list: HTMLElement;
  onOpen: (job: Job) => void = () => {};

  constructor(api: Api, drawer: HTMLElement, list: HTMLElement) {
    this.#api = api;
    this.#drawer = drawer;
    this.#list = list;
  }

  get isOpen(): boolean {
    return !this.#drawer.hidden;
  }

  async open(): Promise<void> {
    this.#drawer.hidden = false;
    await this.refresh();
  }

  close(): void {
    this.#drawer.hidden = true;
  }

  async refresh(): Promise<void> {
    if (this.#drawer.hidden) return;
    let jobs: Job[];
    try {
      jobs = (await this.#api.gql<{ jobs: { nodes: Job[] } }>(JOBS, { first: 30 })).jobs.nodes;
    } catch (e) {
      this.#list.replaceChildren(h('li', { class: 'empty' }, `Cannot load your jobs: ${(e as Error).message}`));
      return;
    }
    if (jobs.length === 0) {
      this.#list.replaceChildren(h('li', { class: 'empty' }, 'No jobs yet. Open a photo and paint what to remove.'));
      return;
    }
    this.#list.replaceChildren(...jobs.map((job) => this.#row(job)));
  }

  #row(job: Job): HTMLElement {
    const thumb = h('img', { class: 'thumb', alt: '' });
    const source = job.result ?? job.preview ?? job.image;
    void this.#api.objectUrl(source.url).then(
      (u) => (thumb.src = u),
      () => thumb.classList.add('missing'),
    );
    const progress = job.status === 'RUNNING' || job.status === 'PAUSED' ? ` · ${Math.floor(job.progress * 100)}%` : '';
    const button = h(
      'button',
      { class: 'job-row', 'data-job-id': job.id, 'data-status': job.status },
      thumb,
      h('span', { class: 'job-meta' }, h('span', { class: `pill ${job.status.toLowerCase()}` }, STATUS_TEXT[job.status]), h('span', { class: 'muted' }, `${job.image.width}×${job.image.height} · ${when(job.createdAt)}${progress}`)),
    );
    button.addEventListener('click', () => {
      this.close();
      this.onOpen(job);
    });
    return h('li', {}, button);
  }
}
