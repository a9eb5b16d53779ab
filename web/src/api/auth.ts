/**
 * Who is signed in (`GET /auth/me`), sign-in by password, demo sign-in and first-start setup.
 * A server without the auth API is "no-auth": the app then acts as the local owner, like the API.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { useCapabilities } from "./capabilities";
import { api, currentWorkspace, setCurrentWorkspace, unwrap } from "./client";
import { ApiError } from "./problem";
import type { components } from "./schema";

export type Me = components["schemas"]["MeOut"];
export type WorkspaceRef = components["schemas"]["WorkspaceRoleOut"];

export type SessionState = { kind: "signed-in"; me: Me } | { kind: "signed-out" } | { kind: "no-auth" };

/** Interpret the outcome of GET /auth/me. */
export async function loadSession(): Promise<SessionState> {
  try {
    return { kind: "signed-in", me: unwrap(await api.GET("/api/v1/auth/me")) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { kind: "signed-out" };
    // A remembered workspace that is gone (or no longer ours): fall back to the default one.
    if (error instanceof ApiError && (error.status === 403 || error.status === 404) && currentWorkspace()) {
      setCurrentWorkspace(null);
      return loadSession();
    }
    throw error;
  }
}

/**
 * The session, asked only of a server that has the auth API (so a server without it sees no failing
 * request).
 */
export function useSession() {
  const capabilities = useCapabilities();
  const hasAuth = capabilities.data?.has("GET", "/auth/me");
  const query = useQuery<SessionState>({
    queryKey: ["session", hasAuth],
    enabled: capabilities.data !== undefined,
    queryFn: () => (hasAuth ? loadSession() : Promise.resolve({ kind: "no-auth" })),
    staleTime: 60_000,
    retry: false,
  });
  return {
    data: query.data,
    error: capabilities.error ?? query.error,
    isLoading: capabilities.isLoading || query.isLoading,
    refetch: () => Promise.all([capabilities.refetch(), query.refetch()]),
  };
}

export function displayName(me: Me): string {
  return me.user?.name || me.user?.email || "Service token";
}

/** Whether the first owner still has to be created, and whether the server runs the demo. */
export function useSetupStatus(enabled: boolean) {
  return useQuery({
    queryKey: ["auth-setup"],
    enabled,
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/setup")),
    staleTime: 60_000,
  });
}

function useAfterSignIn() {
  const client = useQueryClient();
  return () => client.resetQueries();
}

export function useLogin() {
  const after = useAfterSignIn();
  return useMutation({
    mutationFn: async (credentials: { email: string; password: string }) => unwrap(await api.POST("/api/v1/auth/login", { body: credentials })),
    onSuccess: after,
  });
}

export function useDemoLogin() {
  const after = useAfterSignIn();
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/demo-login")),
    onSuccess: after,
  });
}

export function useSetup() {
  const after = useAfterSignIn();
  return useMutation({
    mutationFn: async (body: { token: string; email: string; password: string; name: string }) =>
      unwrap(await api.POST("/api/v1/auth/setup", { body })),
    onSuccess: after,
  });
}

/**
 * Join a workspace with an invitation's token (creating the account when the email has none), then
 * open the app afresh in that workspace, signed in as the invited person.
 */
export function useAcceptInvitation() {
  return useMutation({
    mutationFn: async (body: { token: string; name: string; password: string | null }) => unwrap(await api.POST("/api/v1/invitations/accept", { body })),
    onSuccess: (me) => {
      setCurrentWorkspace(me.current_workspace.id);
      window.location.assign("/");
    },
  });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/logout")),
    onSettled: () => client.resetQueries(),
  });
}
