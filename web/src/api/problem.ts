/** Problem responses (RFC 9457 application/problem+json) and how the app shows them to a person. */

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: { loc: string[]; msg: string }[];
  [extra: string]: unknown;
}

/** An API call that failed; `problem` is the server's explanation when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problemMessage(problem, status));
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

/** A sentence a user understands: the detail, else the title, else the HTTP status. */
export function problemMessage(problem: Problem | undefined, status?: number): string {
  const detail = typeof problem?.detail === "string" ? problem.detail.trim() : "";
  const title = typeof problem?.title === "string" ? problem.title.trim() : "";
  if (detail) return detail;
  if (title) return title;
  if (status === 0 || status === undefined) return "The server could not be reached. Is `sluice serve` running?";
  return `The server answered ${status}.`;
}

/** Heading of an error notification: the problem's title when it differs from the message. */
export function problemTitle(error: unknown): string {
  if (error instanceof ApiError) {
    const title = error.problem.title?.trim();
    if (title && title !== error.message) return title;
    if (error.status >= 500) return "Server error";
    return "Request refused";
  }
  return "Something went wrong";
}

/** Turn whatever a response body was into a Problem (servers and proxies may send HTML or nothing). */
export function toProblem(body: unknown, status: number, statusText = ""): Problem {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const candidate = body as Problem & { detail?: unknown };
    // FastAPI's default {"detail": [...]} validation errors, should one slip through.
    if (Array.isArray(candidate.detail)) {
      const first = candidate.detail[0] as { loc?: unknown[]; msg?: string } | undefined;
      const where = (first?.loc ?? []).filter((p) => p !== "body").join(".");
      return { status, title: "Invalid input", detail: where ? `${where}: ${first?.msg}` : first?.msg };
    }
    return { status, ...candidate };
  }
  return { status, title: statusText || `HTTP ${status}` };
}
