//! `/openapi.json` describes every domain endpoint with its bodies and error responses.

mod domain_common;

use axum::http::StatusCode;
use domain_common::Api;

#[tokio::test]
async fn every_domain_path_is_documented_with_errors() {
    let api = Api::new().await;
    let doc = api.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    let expected = [
        ("/api/payments/status", "get"),
        ("/api/payments/initialize", "post"),
        ("/api/payments/verify/{reference}", "post"),
        ("/api/payments/history", "get"),
        ("/api/payments/webhook", "post"),
        ("/provider/inline.js", "get"),
        ("/provider/checkout/{reference}", "get"),
        ("/provider/charge", "post"),
        ("/api/prescriptions", "get"),
        ("/api/prescriptions", "post"),
        ("/api/prescriptions/{id}", "get"),
        ("/api/prescriptions/{id}/order", "post"),
        ("/api/medical-records/request-otp", "post"),
        ("/api/medical-records/verify-otp", "post"),
        ("/api/medical-records", "get"),
        ("/api/medical-records/summary", "get"),
        ("/api/pharmacies", "get"),
        ("/api/pharmacies/{id}/nominate", "post"),
        ("/api/pharmacies/nominated", "get"),
        ("/api/health-tracking/{kind}", "get"),
        ("/api/health-tracking/{kind}", "post"),
        ("/api/registry/search", "get"),
        ("/api/registry/verify/{license_number}", "get"),
        ("/api/registry/statistics", "get"),
    ];
    for (path, method) in expected {
        let op = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is documented"))[method];
        assert!(op.is_object(), "{method} {path} is documented");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path} documents its success"
        );
    }
    for (path, method, error) in [
        ("/api/payments/initialize", "post", "409"),
        ("/api/payments/webhook", "post", "401"),
        ("/api/prescriptions/{id}/order", "post", "409"),
        ("/api/medical-records/verify-otp", "post", "429"),
        ("/api/medical-records", "get", "403"),
        ("/api/health-tracking/{kind}", "post", "413"),
        ("/api/registry/verify/{license_number}", "get", "404"),
    ] {
        assert!(
            paths[path][method]["responses"][error].is_object(),
            "{method} {path} documents {error}"
        );
    }
    let schemas = doc.body["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for schema in [
        "InitializePaymentResponse",
        "VerifyPaymentResponse",
        "Prescription",
        "MedicalRecords",
        "TrackingBatch",
        "TrackingPage",
        "LicenseVerification",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema}");
    }
}
