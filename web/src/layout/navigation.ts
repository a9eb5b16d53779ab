/** The left navigation: every area of Sluice, and the API route that tells whether it has landed. */
import {
  IconBolt,
  IconBrain,
  IconChartPie,
  IconCloudDownload,
  IconDatabase,
  IconFingerprint,
  IconHistory,
  IconKey,
  IconListDetails,
  IconSend,
  IconTable,
  IconUsers,
  type Icon,
} from "@tabler/icons-react";

import type { Permission } from "../api/permissions";

export interface NavItem {
  label: string;
  to: string;
  icon: Icon;
  /** "GET /path" the page needs; the item is marked "soon" while the server lacks it. */
  needs: string;
  /** Shown only to roles with this permission (everyone when omitted). */
  permission?: Permission;
}

export interface NavSection {
  label?: string;
  items: NavItem[];
}

export const NAVIGATION: NavSection[] = [
  {
    items: [
      { label: "Sources", to: "/sources", icon: IconDatabase, needs: "GET /sources" },
      { label: "Models", to: "/models", icon: IconTable, needs: "GET /models" },
      { label: "Segments", to: "/segments", icon: IconChartPie, needs: "GET /segments" },
      { label: "Destinations", to: "/destinations", icon: IconSend, needs: "GET /destinations" },
      { label: "Activations", to: "/activations", icon: IconBolt, needs: "GET /activations" },
      { label: "Runs", to: "/runs", icon: IconHistory, needs: "GET /runs" },
      { label: "Remote segments", to: "/remote-segments", icon: IconCloudDownload, needs: "GET /segments/remote-platforms" },
      { label: "Identity", to: "/identity", icon: IconFingerprint, needs: "GET /identity-graphs", permission: "models:read" },
      { label: "Predictions", to: "/predictions", icon: IconBrain, needs: "GET /predictors", permission: "models:read" },
    ],
  },
  {
    label: "Settings",
    items: [
      { label: "Members", to: "/settings/members", icon: IconUsers, needs: "GET /members" },
      { label: "API tokens", to: "/settings/tokens", icon: IconKey, needs: "GET /tokens" },
      { label: "Audit log", to: "/settings/audit-log", icon: IconListDetails, needs: "GET /audit-logs", permission: "audit:read" },
    ],
  },
];

export const ALL_NAV_ITEMS: NavItem[] = NAVIGATION.flatMap((section) => section.items);

/** The nav item a location belongs to (longest matching prefix). */
export function navItemFor(pathname: string): NavItem | undefined {
  return ALL_NAV_ITEMS.filter((item) => pathname === item.to || pathname.startsWith(`${item.to}/`)).sort(
    (a, b) => b.to.length - a.to.length,
  )[0];
}

export function isAvailable(item: NavItem, routes: Set<string> | undefined): boolean {
  if (!routes) return true;
  return routes.has(item.needs);
}
