/// The OpenAPI 3.1 description of Mailroom's JSON API, served at `GET /api/openapi.yaml`, from
/// `Resources/openapi.yaml` (embedded in the binary). Keep it in step with ``APIController`` and ``APIResources``; a
/// test validates it as OpenAPI 3.1 and checks it names every API route.
public enum OpenAPIDocument {
    public static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
