"""Every GraphQL document the tests send, in one place: a schema change is fixed here once."""

CHALLENGE = """
    __typename
    ... on Challenge { id expiresAt resendAvailableAt phoneHint }
    ... on Error { code message field }"""

REQUEST_APPLY = f"""
mutation($input: RequestApplicationCodeInput!) {{
  requestApplicationCode(input: $input) {{{CHALLENGE}
  }}
}}"""

REQUEST_TRACKING = f"""
mutation($input: RequestTrackingCodeInput!) {{
  requestTrackingCode(input: $input) {{{CHALLENGE}
  }}
}}"""

REQUEST_STAFF = f"""
mutation($input: RequestStaffCodeInput!) {{
  requestStaffCode(input: $input) {{{CHALLENGE}
  }}
}}"""

RESEND = f"""
mutation($id: ID!) {{
  resendCode(challengeId: $id) {{{CHALLENGE}
  }}
}}"""

CANCEL = """
mutation($id: ID!) {
  cancelCode(challengeId: $id) {
    __typename
    ... on Done { ok }
    ... on Error { code message field }
  }
}"""

VERIFY = """
mutation($id: ID!, $code: String!) {
  verifyCode(challengeId: $id, code: $code) {
    __typename
    ... on SignedIn { token purpose expiresAt }
    ... on Error { code message field }
  }
}"""

START_EICISLERI = """
mutation {
  startEIcisleriSignIn {
    __typename
    ... on EIcisleriSignInStarted { authorizationUrl expiresAt }
    ... on Error { code message field }
  }
}"""

COMPLETE_EICISLERI = """
mutation($code: String!, $state: String!) {
  completeEIcisleriSignIn(code: $code, state: $state) {
    __typename
    ... on SignedIn { token purpose expiresAt }
    ... on Error { code message field }
  }
}"""

SIGN_OUT = """
mutation {
  signOut {
    __typename
    ... on Done { ok }
    ... on Error { code message field }
  }
}"""

ME = """
{
  me {
    firstName lastName role roleLabel
    province { id name }
    district { id name }
    units { detsisNo name }
    sessionExpiresAt
  }
}"""

PROFILE = """
{
  applicantProfile {
    tcKimlikNo firstName lastName birthDate gender genderLabel phone
    residence {
      address provinceName districtName placeName
      province { id name } district { id name } place { id name kind kindLabel }
    }
  }
}"""

SUBMIT = """
mutation($input: SubmitApplicationInput!) {
  submitApplication(input: $input) {
    __typename
    ... on SubmitApplicationSuccess { trackingNo message }
    ... on Error { code message field }
  }
}"""

REGISTER = """
mutation($input: RegisterApplicationInput!) {
  registerApplication(input: $input) {
    __typename
    ... on SubmitApplicationSuccess { trackingNo }
    ... on Error { code message field }
  }
}"""

TRACKED = """
{
  trackedApplication {
    trackingNo status statusLabel result resultLabel answer closed kind kindLabel
    tcKimlikNo firstName lastName residenceAddress subjectAddress phone email
    province { id name } district { id name } place { id name kind kindLabel } subject
    categories { position category subcategory description }
    files { id fileName contentType size downloadUrl }
    history { position status statusLabel note at }
    reportUrl
  }
}"""

DISTRICTS = "query($id: Int!) { districts(provinceId: $id) { id name } }"
PLACES = "query($id: Int!) { places(districtId: $id) { id name kind kindLabel } }"
CATEGORIES = "{ serviceCategories { id name subcategories { id name } } }"

UNITS = """
query($search: String!, $provinceId: Int, $first: Int) {
  units(search: $search, provinceId: $provinceId, first: $first) {
    detsisNo name kind kindLabel parentDetsisNo province { id name }
  }
}"""

STAFF_APPLICATION = """
query($trackingNo: Int!) {
  staffApplication(trackingNo: $trackingNo) {
    id trackingNo version status statusLabel result resultLabel answer closed kind kindLabel channel channelLabel
    createdAt arrivalDate isSpecial isConfidential priorityGroup priorityGroupLabel
    firstName lastName tcKimlikNo birthDate gender genderLabel phone email residenceAddress
    subjectAddress province { id name } district { id name } place { id name kind } subject
    categories { position category subcategory description }
    files { id fileName contentType size downloadUrl }
    routings {
      id parentId unit { detsisNo name } status statusLabel dueDate overdue routedAt routedBy
      answer answeredAt answeredBy returnReason files { id fileName downloadUrl }
    }
    history { position action actionLabel status statusLabel note actor role roleLabel public routingId at }
    reportUrl
  }
}"""

LISTED_APPLICATION = """
    id trackingNo status statusLabel result resultLabel kind kindLabel channel channelLabel createdAt arrivalDate
    isSpecial isConfidential priorityGroup priorityGroupLabel tcKimlikNo firstName lastName subjectSummary
    categories { position category subcategory description }
    routings { id unit { detsisNo name } status statusLabel dueDate overdue routedAt answeredAt }
    unitArrivalAt dueDate overdue"""

SEARCH = f"""
query($filter: ApplicationFilter, $first: Int, $after: String) {{
  searchApplications(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{{LISTED_APPLICATION} }} }}
  }}
}}"""

LISTED_ROUTING = f"""
    id unit {{ detsisNo name }} status statusLabel dueDate overdue daysLate routedAt answeredAt
    application {{{LISTED_APPLICATION} }}"""

ROUTING_INBOX = f"""
query($filter: ApplicationFilter, $first: Int, $after: String) {{
  routingInbox(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{{LISTED_ROUTING} }} }}
  }}
}}"""

OVERDUE_ROUTINGS = f"""
query($filter: ApplicationFilter, $first: Int, $after: String) {{
  overdueRoutings(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{{LISTED_ROUTING} }} }}
  }}
}}"""

STEP = """
    __typename
    ... on WorkflowStepDone { trackingNo status statusLabel version }
    ... on Error { code message field }"""

UPDATE_CATEGORIES = f"""
mutation($input: UpdateCategoriesInput!) {{ updateApplicationCategories(input: $input) {{{STEP}
  }}
}}"""

SET_FLAGS = f"""
mutation($input: SetFlagsInput!) {{ setApplicationFlags(input: $input) {{{STEP}
  }}
}}"""

ROUTE = f"""
mutation($input: RouteApplicationInput!) {{ routeApplication(input: $input) {{{STEP}
  }}
}}"""

ANSWER = f"""
mutation($input: AnswerRoutingInput!) {{ answerRouting(input: $input) {{{STEP}
  }}
}}"""

RETURN_ANSWER = f"""
mutation($input: ReturnRoutingAnswerInput!) {{ returnRoutingAnswer(input: $input) {{{STEP}
  }}
}}"""

SEND_TO_MIA = f"""
mutation($input: SendToMiaInput!) {{ sendToMia(input: $input) {{{STEP}
  }}
}}"""

REVIEW = f"""
mutation($input: ReviewApplicationInput!) {{ reviewApplication(input: $input) {{{STEP}
  }}
}}"""

CLOSE = f"""
mutation($input: CloseApplicationInput!) {{ closeApplication(input: $input) {{{STEP}
  }}
}}"""
