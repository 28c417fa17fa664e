// The GraphQL operations the CLI sends, and the shape of a job as they return it (schema.graphql).

export interface ImageData {
  id: string;
  url: string;
  width: number;
  height: number;
  contentType: string;
}

export type JobStatus = 'QUEUED' | 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'FAILED' | 'CANCELED';

export const TERMINAL: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];

export interface JobData {
  id: string;
  status: JobStatus;
  progress: number;
  level: number | null;
  levels: number | null;
  iteration: number | null;
  createdAt: string;
  updatedAt: string;
  image: ImageData;
  mask: ImageData;
  preview: ImageData | null;
  result: ImageData | null;
  error: { code: string; message: string } | null;
  options: { patchSize: number; seed: number; maxIterations: number; distance: 'CIE76' | 'CIE2000' };
  stats: { kernelCpuMs: number; kernelCalls: number; events: number; blobBytes: number };
  version: number;
}

const IMAGE = 'id url width height contentType';

export const JOB_FIELDS = `fragment JobFields on InpaintJob {
  id status progress level levels iteration createdAt updatedAt version
  image { ${IMAGE} } mask { ${IMAGE} } preview { ${IMAGE} } result { ${IMAGE} }
  error { code message }
  options { patchSize seed maxIterations distance }
  stats { kernelCpuMs kernelCalls events blobBytes }
}`;

export const CREATE_JOB = `mutation CreateJob($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { ...JobFields } } ${JOB_FIELDS}`;
export const JOB = `query Job($id: ID!) { job(id: $id) { ...JobFields } } ${JOB_FIELDS}`;
export const JOBS = `query Jobs($first: Int, $after: String, $status: JobStatus) {
  jobs(first: $first, after: $after, status: $status) { nodes { ...JobFields } pageInfo { hasNextPage endCursor } }
} ${JOB_FIELDS}`;
export const CANCEL_JOB = `mutation CancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } } ${JOB_FIELDS}`;
export const JOB_UPDATES = `subscription JobUpdates($id: ID!) { jobUpdates(id: $id) { ...JobFields } } ${JOB_FIELDS}`;

export interface JobsPage {
  nodes: JobData[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
