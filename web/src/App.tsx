/** Routes of the web app, behind the sign-in gate. */
import { Center, Loader } from "@mantine/core";
import { Navigate, Route, Routes } from "react-router-dom";

import { useSession } from "./api/auth";
import { ErrorNotice } from "./components/feedback";
import { Shell } from "./layout/Shell";
import { ALL_NAV_ITEMS } from "./layout/navigation";
import { InvitePage, LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { PendingPage } from "./pages/PendingPage";
import { SourceFormPage } from "./pages/sources/SourceFormPage";
import { SourcesPage } from "./pages/sources/SourcesPage";
import { ActivationDetailPage } from "./pages/activations/ActivationDetailPage";
import { ActivationEditPage } from "./pages/activations/ActivationEditPage";
import { ActivationFormPage } from "./pages/activations/ActivationFormPage";
import { ActivationsPage } from "./pages/activations/ActivationsPage";
import { RunDetailPage } from "./pages/runs/RunDetailPage";
import { RunsPage } from "./pages/runs/RunsPage";
import { DestinationFormPage } from "./pages/destinations/DestinationFormPage";
import { DestinationsPage } from "./pages/destinations/DestinationsPage";
import { SegmentPage } from "./pages/segments/SegmentPage";
import { ModelPage } from "./pages/models/ModelPage";
import { AuditLogPage, MembersPage, TokensPage } from "./pages/settings/SettingsPages";
import { ModelsPage } from "./pages/models/ModelsPage";
import { PredictionsPage } from "./pages/predictions/PredictionsPage";
import { IdentityPage } from "./pages/identity/IdentityPage";
import { SegmentsPage } from "./pages/segments/SegmentsPage";
import { RemoteSegmentFormPage } from "./pages/remote/RemoteSegmentFormPage";
import { RemoteSegmentPage } from "./pages/remote/RemoteSegmentPage";
import { RemoteSegmentsPage } from "./pages/remote/RemoteSegmentsPage";

/** Pages built so far; every other navigation item shows a PendingPage. */
const BUILT = new Set(["/sources", "/models", "/segments", "/destinations", "/activations", "/runs", "/settings/members", "/settings/tokens", "/settings/audit-log", "/predictions", "/identity", "/remote-segments"]);

export function App() {
  const session = useSession();
  if (session.isLoading) {
    return (
      <Center mih="100vh">
        <Loader />
      </Center>
    );
  }
  if (session.error) {
    return (
      <Center mih="100vh" p="xl">
        <ErrorNotice error={session.error} onRetry={() => void session.refetch()} />
      </Center>
    );
  }
  const inviteToken = window.location.pathname === "/invite" ? new URLSearchParams(window.location.search).get("token") : null;
  if (inviteToken) return <InvitePage token={inviteToken} />;
  if (session.data?.kind === "signed-out") return <LoginPage />;
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Navigate to="/sources" replace />} />
        <Route path="login" element={<Navigate to="/sources" replace />} />
        <Route path="sources" element={<SourcesPage />} />
        <Route path="sources/new" element={<SourceFormPage key="new" />} />
        <Route path="sources/:sourceId" element={<SourceFormPage />} />
        <Route path="models" element={<ModelsPage />} />
        <Route path="models/:modelId" element={<ModelPage />} />
        <Route path="segments" element={<SegmentsPage />} />
        <Route path="segments/new" element={<SegmentPage key="new" />} />
        <Route path="segments/:segmentId" element={<SegmentPage />} />
        <Route path="destinations" element={<DestinationsPage />} />
        <Route path="destinations/new" element={<DestinationFormPage key="new" />} />
        <Route path="destinations/:destinationId" element={<DestinationFormPage />} />
        <Route path="activations" element={<ActivationsPage />} />
        <Route path="activations/new" element={<ActivationFormPage />} />
        <Route path="activations/:activationId" element={<ActivationDetailPage />} />
        <Route path="activations/:activationId/edit" element={<ActivationEditPage />} />
        <Route path="runs" element={<RunsPage />} />
        <Route path="runs/:runId" element={<RunDetailPage />} />
        <Route path="remote-segments" element={<RemoteSegmentsPage />} />
        <Route path="remote-segments/new" element={<RemoteSegmentFormPage />} />
        <Route path="remote-segments/:segmentId" element={<RemoteSegmentPage />} />
        <Route path="predictions" element={<PredictionsPage />} />
        <Route path="identity" element={<IdentityPage />} />
        {ALL_NAV_ITEMS.filter((item) => !BUILT.has(item.to)).map((item) => (
          <Route key={item.to} path={`${item.to.slice(1)}/*`} element={<PendingPage item={item} />} />
        ))}
        <Route path="settings/members" element={<MembersPage />} />
        <Route path="settings/tokens" element={<TokensPage />} />
        <Route path="settings/audit-log" element={<AuditLogPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
