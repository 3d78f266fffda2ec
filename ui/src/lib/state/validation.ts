// As-you-type checks for the tenant forms. Each returns null when the value is acceptable, or a
// sentence saying what is wrong and how to fix it.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Entra tenant: the directory (tenant) ID GUID or a verified domain such as contoso.onmicrosoft.com. */
export function checkTenant(value: string): string | null {
  const v = value.trim();
  if (v === "") return "Enter the directory (tenant) ID or a verified domain of your tenant.";
  if (GUID.test(v) || DOMAIN.test(v)) return null;
  if (/^[0-9a-f-]+$/i.test(v))
    return "A tenant ID is a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47 (36 characters with dashes).";
  return "Use the directory (tenant) ID GUID or a domain such as contoso.onmicrosoft.com.";
}

/** Entra application (client) ID: always a GUID. */
export function checkClientId(value: string): string | null {
  const v = value.trim();
  if (v === "") return "Enter the application (client) ID from the app registration's Overview page.";
  if (GUID.test(v)) return null;
  return "The application (client) ID is a GUID like 4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14; copy it from the app registration's Overview page.";
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** Okta org URL: https://your-org.okta.com (plain http only on this computer's loopback address). */
export function checkOrgUrl(value: string): string | null {
  const v = value.trim();
  if (v === "") return "Enter your Okta org URL, for example https://acme.okta.com.";
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return "That is not a URL; use the form https://acme.okta.com.";
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname))
    return "Okta org URLs use https://; plain http:// is accepted only for this computer (127.0.0.1).";
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return "Okta org URLs start with https://.";
  if (url.pathname.replace(/\/+$/, "") !== "" || url.search || url.hash)
    return "Use the org URL alone, without a path: for example https://acme.okta.com, not https://acme.okta.com/admin.";
  if (url.hostname.endsWith("-admin.okta.com") || url.hostname.includes("-admin."))
    return "That is the admin console URL; remove “-admin” (https://acme.okta.com).";
  return null;
}
